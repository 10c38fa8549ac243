// The dedupe stage: decides unique / duplicate / update / replay, and drops or tags duplicates.
#include "stages/dedupe/dedupe_stage.h"

#include <spdlog/spdlog.h>

#include "stages/dedupe/dedupe_normalize.h"
#include "stages/dedupe/dedupe_store.h"
#include "stages/runtime/record.h"

namespace vnawire::dedupe {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;

class DedupeStage final : public runtime::Stage {
 public:
  explicit DedupeStage(const runtime::StageContext& context) : context_(context) {}

  runtime::Status start() override {
    const auto& options = *context_.options;
    const std::string& db = options.get_string("db_path");
    const auto path = db.empty() ? context_.stage_dir / "fingerprints.lmdb" : context_.resolve(db);
    tag_only_ = options.get_string("action") == "tag";
    return store_.open(path, static_cast<std::size_t>(options.get_int("map_size_mb")) << 20);
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    const std::string* body = runtime::body_of(document.record);
    if (body == nullptr) return runtime::Verdict::dead_letter(runtime::kNoBody);
    const auto type = document.record.value("content_type", std::string());
    const std::string normalized = normalize_for_dedupe(*body, type == "text/html");
    if (normalized.empty()) {
      context_.counters->add("empty_text");
      document.record["dedupe"] = {{"status", "unique"}, {"of", nullptr}};
      return runtime::Verdict::forward();
    }
    const Checked checked = store_.check_and_record(document.header.id, fingerprint(normalized));
    if (!checked.outcome) {
      // Retrying what can never pass (a full map, a damaged file) only holds the pipeline up for ~25 s.
      if (checked.transient) return runtime::Verdict::retry(checked.error);
      return runtime::Verdict::dead_letter("the fingerprint store cannot record the document: " + checked.error);
    }
    const Outcome& outcome = *checked.outcome;
    context_.counters->add(decision_name(outcome.decision));
    nlohmann::json tag = {{"status", decision_name(outcome.decision)}, {"of", nullptr}};
    if (outcome.decision == Decision::Duplicate) {
      tag["of"] = outcome.of;
      tag["similarity"] = 1.0;
      if (!tag_only_) return runtime::Verdict::drop("duplicate of " + outcome.of);
    }
    document.record["dedupe"] = std::move(tag);
    return runtime::Verdict::forward();
  }

  runtime::Status flush() override { return store_.sync(); }

 private:
  const runtime::StageContext& context_;
  FingerprintStore store_;
  bool tag_only_ = false;
};

}  // namespace

const runtime::StageDescriptor& dedupe_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "dedupe",
      "Drops (or tags) exact duplicates: same normalised text under another id; remembers across restarts.",
      runtime::StageRole::Processor,
      16,
      {
          OptionSpec{"action", OptionType::String, std::string("drop"),
                     "What to do with a duplicate: drop it (acknowledged as dropped) or tag it and pass it on.",
                     false, std::nullopt, std::nullopt, {"drop", "tag"}},
          OptionSpec{"db_path", OptionType::String, std::string(""),
                     "LMDB folder of fingerprints; empty means <state_dir>/<stage>/fingerprints.lmdb."},
          OptionSpec{"map_size_mb", OptionType::Int, std::int64_t{1024},
                     "Largest size of the fingerprint database, in MiB (about 150 bytes per document).", false, 1.0,
                     1048576.0},
      },
      [](const runtime::StageContext& context) { return std::make_unique<DedupeStage>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::dedupe
