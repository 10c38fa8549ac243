// The langid stage: sets `lang` on every record and drops languages the pipeline does not accept.
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
      : context_(context), accept_(context.options->get_list("accept")) {}

  runtime::Verdict on_message(runtime::Document& document) override {
    const std::string* body = runtime::body_of(document.record);
    if (body == nullptr) return runtime::Verdict::dead_letter(runtime::kNoBody);
    const bool is_html = document.record.value("content_type", std::string()) == "text/html";
    const std::vector<LanguageHint> hints = hints_of(document.record, *body, is_html);
    Detection detection = identify(*body, is_html, hints);
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
      return runtime::Verdict::drop("language " + detection.code + " is not accepted");
    }
    return runtime::Verdict::forward();
  }

 private:
  const runtime::StageContext& context_;
  std::vector<std::string> accept_;
};

}  // namespace

const runtime::StageDescriptor& langid_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "langid",
      "Identifies the language of each document with CLD2 (lang.code, lang.confidence) and filters by language.",
      runtime::StageRole::Processor,
      64,
      {
          OptionSpec{"accept", OptionType::StringList, std::vector<std::string>{},
                     "ISO 639-1 codes to pass on; other languages are dropped. Empty accepts every language."},
      },
      [](const runtime::StageContext& context) { return std::make_unique<LangidStage>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::langid
