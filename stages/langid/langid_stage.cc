// The langid stage: sets `lang` on every record; languages the pipeline does not accept are dropped, or
// routed to the stage named by `route_rejected_to`.
#include "stages/langid/langid_stage.h"

#include <algorithm>

#include "stages/langid/langid_identify.h"
#include "stages/runtime/record.h"

namespace vnawire::langid {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;

class LangidStage final : public runtime::Stage {
 public:
  explicit LangidStage(const runtime::StageContext& context)
      : context_(context),
        accept_(context.options->get_list("accept")),
        reject_route_(context.options->get_string("route_rejected_to")),
        sample_long_texts_(context.options->get_bool("sample_long_texts")) {}

  // One identification before READY: CLD2's tables and the n-gram model are read on first use, which the
  // first document after every start would otherwise wait for.
  runtime::Status start() override {
    (void)identify("Les deux ministres ont signé un accord de coopération sur la formation des enseignants.", false,
                   {});
    return {};
  }

  std::vector<std::string> route_targets() const override {
    return reject_route_.empty() ? std::vector<std::string>{} : std::vector<std::string>{reject_route_};
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    const std::string* body = runtime::body_of(document.record);
    if (body == nullptr) return runtime::Verdict::dead_letter(runtime::kNoBody);
    const bool is_html = document.record.value("content_type", std::string()) == "text/html";
    const std::vector<LanguageHint> hints = hints_of(document.record, *body, is_html);
    Detection detection = identify(*body, is_html, hints, sample_long_texts_);
    if (detection.sampled) context_.counters->add("sampled");
    nlohmann::json top = nlohmann::json::array();
    for (const auto& share : detection.top) top.push_back({{"code", share.code}, {"share", share.percent / 100.0}});
    document.record["lang"] = {{"code", detection.code},
                               {"confidence", detection.confidence},
                               {"reliable", detection.reliable},
                               {"from", detection.from},
                               {"top", std::move(top)}};
    if (!hints.empty()) {
      nlohmann::json given = nlohmann::json::array();
      for (const auto& hint : hints) given.push_back({{"code", hint.code}, {"from", hint.from}});
      document.record["lang"]["hints"] = std::move(given);
    }
    context_.counters->add("lang." + detection.code);
    if (!accept_.empty() && std::find(accept_.begin(), accept_.end(), detection.code) == accept_.end()) {
      context_.counters->add("filtered." + detection.code);
      if (!reject_route_.empty()) {
        return runtime::Verdict::route(reject_route_, "language " + detection.code + " is not accepted");
      }
      return runtime::Verdict::drop("language " + detection.code + " is not accepted");
    }
    return runtime::Verdict::forward();
  }

 private:
  const runtime::StageContext& context_;
  std::vector<std::string> accept_;
  std::string reject_route_;
  bool sample_long_texts_ = true;
};

}  // namespace

const runtime::StageDescriptor& langid_descriptor() {
  static const runtime::StageDescriptor descriptor = [] {
    runtime::StageDescriptor d{
        "langid",
        "Identifies the language of each document with CLD2 (lang.code, lang.confidence) and filters by language.",
        runtime::StageRole::Processor,
        64,
        {
            OptionSpec{"accept", OptionType::StringList, std::vector<std::string>{},
                       "ISO 639-1 codes to pass on; other languages are dropped. Empty accepts every language."},
            OptionSpec{"sample_long_texts", OptionType::Bool, true,
                       "Identify a text of 3 KB or more on three 512-byte windows (start, middle, end) first, and read "
                       "the whole text only when that sample is unsure or mixed (half the CPU on dispatches; "
                       "lang.top and lang.confidence are then the sample's). false reads every text whole."},
            OptionSpec{"route_rejected_to", OptionType::String, std::string(),
                       "A stage reading from this one that gets the documents `accept` refuses, instead of their "
                       "being dropped; the other consumers get only accepted ones."},
        },
        [](const runtime::StageContext& context) { return std::make_unique<LangidStage>(context); },
    };
    d.adds_members = {"lang"};  // and nothing else: its output is its input with "lang"
    return d;
  }();
  return descriptor;
}

}  // namespace vnawire::langid
