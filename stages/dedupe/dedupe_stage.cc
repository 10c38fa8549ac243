// The dedupe stage: decides unique / duplicate / near_duplicate / update / replay, and drops or tags copies.
#include "stages/dedupe/dedupe_stage.h"

#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "stages/dedupe/dedupe_near.h"
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
    near_tag_only_ = options.get_string("near_action") == "tag";
    const std::string& method = options.get_string("near_method");
    near_.method = method == "simhash" ? NearMethod::SimHash : method == "off" ? NearMethod::Off : NearMethod::MinHash;
    near_.threshold = options.get_double("near_threshold");
    near_.shingle_words = static_cast<int>(options.get_int("shingle_words"));
    near_.bands = static_cast<int>(options.get_int("minhash_bands"));
    near_.rows = static_cast<int>(options.get_int("minhash_rows"));
    near_.simhash_max_distance = static_cast<int>(options.get_int("simhash_max_distance"));
    near_.max_candidates = static_cast<int>(options.get_int("near_max_candidates"));
    window_seconds_ = options.get_int("window_days") * 86400;
    expire_per_flush_ = static_cast<int>(options.get_int("expire_per_flush"));
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
    const std::string url = document.record.contains("url") && document.record["url"].is_string()
                                ? document.record["url"].get<std::string>()
                                : std::string();
    NearSignature signature;
    NearRequest near{&signature, &near_, now_seconds(), window_seconds_};
    if (near_.method != NearMethod::Off) {
      signature = near_signature(near_duplicate_words(*body, type == "text/html"), near_);
    }
    const Checked checked = store_.check_and_record(document.header.id, fingerprint(normalized), url,
                                                    near_.method == NearMethod::Off ? nullptr : &near);
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
    } else if (outcome.decision == Decision::NearDuplicate) {
      tag["of"] = outcome.of;
      tag["similarity"] = std::round(outcome.similarity * 1000) / 1000;
      if (!near_tag_only_) return runtime::Verdict::drop("near duplicate of " + outcome.of);
    }
    document.record["dedupe"] = std::move(tag);
    return runtime::Verdict::forward();
  }

  runtime::Status flush() override {
    // Expiry a bounded batch at a time, so that a flush never stalls the stream behind a long clean-up.
    if (near_.method != NearMethod::Off) {
      std::string error;
      const auto removed = store_.expire(now_seconds(), window_seconds_, expire_per_flush_, error);
      if (!removed) return runtime::Status::error(error);
      if (*removed > 0) context_.counters->add("near_expired", static_cast<std::uint64_t>(*removed));
    }
    return store_.sync();
  }

 private:
  const runtime::StageContext& context_;
  FingerprintStore store_;
  bool tag_only_ = false;
  bool near_tag_only_ = false;
  NearOptions near_;
  std::int64_t window_seconds_ = 0;
  int expire_per_flush_ = 0;

  static std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

const runtime::StageDescriptor& dedupe_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "dedupe",
      "Drops (or tags) duplicates (same URL or normalised text) and near duplicates; remembers across restarts.",
      runtime::StageRole::Processor,
      16,
      {
          OptionSpec{"action",
                     OptionType::String,
                     std::string("drop"),
                     "What to do with a duplicate: drop it (acknowledged as dropped) or tag it and pass it on.",
                     false,
                     std::nullopt,
                     std::nullopt,
                     {"drop", "tag"}},
          OptionSpec{"db_path", OptionType::String, std::string(""),
                     "LMDB folder of fingerprints; empty means <state_dir>/<stage>/fingerprints.lmdb."},
          OptionSpec{"map_size_mb", OptionType::Int, std::int64_t{16384},
                     "Largest size of the fingerprint database, in MiB: about 5 KB per document of the window with "
                     "near duplicates on (docs/dedupe.md), 150 bytes with near_method off.",
                     false, 1.0, 1048576.0},
          OptionSpec{"near_action",
                     OptionType::String,
                     std::string("drop"),
                     "What to do with a near duplicate (a re-edited copy): drop it or tag it and pass it on.",
                     false,
                     std::nullopt,
                     std::nullopt,
                     {"drop", "tag"}},
          OptionSpec{"near_method",
                     OptionType::String,
                     std::string("minhash"),
                     "How near-duplicate candidates are found: MinHash with LSH bands, SimHash blocks, or off "
                     "(exact duplicates only); docs/dedupe.md compares them.",
                     false,
                     std::nullopt,
                     std::nullopt,
                     {"minhash", "simhash", "off"}},
          OptionSpec{"near_threshold", OptionType::Double, 0.35,
                     "Share of the shorter text's word shingles found in the other for a candidate to be a near "
                     "duplicate (candidates naming different years or ordinals never are).",
                     false, 0.0, 1.0},
          OptionSpec{"shingle_words", OptionType::Int, std::int64_t{3}, "Words per shingle.", false, 1.0, 16.0},
          OptionSpec{"minhash_bands", OptionType::Int, std::int64_t{64},
                     "MinHash: LSH bands; more bands find less similar candidates at more index entries per document.",
                     false, 1.0, 512.0},
          OptionSpec{"minhash_rows", OptionType::Int, std::int64_t{1},
                     "MinHash: rows per band (permutations = bands x rows); more rows make candidates stricter.", false,
                     1.0, 32.0},
          OptionSpec{
              "simhash_max_distance", OptionType::Int, std::int64_t{3},
              "SimHash: the most differing bits of a near duplicate (4 blocks of 16 bits find every pair within 3).",
              false, 0.0, 3.0},
          OptionSpec{"near_max_candidates", OptionType::Int, std::int64_t{64},
                     "Candidates verified per document, those sharing most bands first: bounds the cost per document.",
                     false, 1.0, 10000.0},
          OptionSpec{"window_days", OptionType::Int, std::int64_t{90},
                     "Near duplicates are looked for among the documents of this many days; older entries are removed.",
                     false, 1.0, 36500.0},
          OptionSpec{"expire_per_flush", OptionType::Int, std::int64_t{1000},
                     "Most expired near-duplicate entries removed at each flush, so that no flush stalls the stream.",
                     false, 1.0, 1000000.0},
      },
      [](const runtime::StageContext& context) { return std::make_unique<DedupeStage>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::dedupe
