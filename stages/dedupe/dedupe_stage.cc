// The dedupe stage: decides unique / duplicate / near_duplicate / update / replay, and drops or tags copies.
#include "stages/dedupe/dedupe_stage.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <optional>

#include <spdlog/spdlog.h>

#include "stages/dedupe/dedupe_config.h"
#include "stages/dedupe/dedupe_near.h"
#include "stages/dedupe/dedupe_normalize.h"
#include "stages/dedupe/dedupe_store.h"
#include "stages/runtime/record.h"

namespace vnawire::dedupe {
namespace {

class DedupeStage final : public runtime::Stage {
 public:
  explicit DedupeStage(const runtime::StageContext& context) : context_(context) {}

  runtime::Status start() override {
    settings_ = dedupe_settings_from(*context_.options);
    const std::string& db = settings_.db_path;
    const auto path = db.empty() ? context_.stage_dir / "fingerprints.lmdb" : context_.resolve(db);
    runtime::Status opened = store_.open(path, settings_.map_size_bytes, settings_.commit_every);
    report_set_aside();
    return opened;
  }

  void report_set_aside() {
    if (store_.set_aside().empty() || store_.set_aside() == reported_) return;
    reported_ = store_.set_aside();
    context_.log->error("{}", reported_);
    context_.counters->add("store_set_aside");
  }

  // Prepares the next document and asks for the index slots it will read: at 10^7 stored they are
  // DRAM reads (tens of them), which then arrive while the current document is decided.
  void upcoming(const runtime::Document& document) override {
    std::optional<Prepared> prepared = prepare(document);
    if (!prepared) return;
    prepared->body_hash = body_hash(document);
    store_.prefetch(document.header.id, prepared->text_fingerprint, prepared->url,
                    prepared->near_on ? &prepared->signature : nullptr);
    // The runtime shows document k+1 before it hands over k, which was shown before k-1 was handled.
    if (ahead_.size() == kAhead) ahead_.pop_front();
    ahead_.push_back(std::move(*prepared));
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    std::optional<Prepared> prepared;
    const std::uint64_t hash = ahead_.empty() ? 0 : body_hash(document);
    const auto shown =
        std::find_if(ahead_.begin(), ahead_.end(), [&](const Prepared& p) { return p.is_for(document, hash); });
    if (shown != ahead_.end()) {
      prepared = std::move(*shown);
      ahead_.erase(ahead_.begin(), shown + 1);  // those shown before it will not come (a stop, a dead letter)
      context_.counters->add("prepared_ahead");
    } else {
      prepared = prepare(document);
    }
    if (!prepared) return runtime::Verdict::dead_letter(runtime::kNoBody);
    if (prepared->text.normalized.empty()) {
      context_.counters->add("empty_text");
      document.record["dedupe"] = {{"status", "unique"}, {"of", nullptr}};
      return runtime::Verdict::forward();
    }
    const bool near_on = prepared->near_on;
    NearRequest near{&prepared->signature, &settings_.near, now_seconds(), settings_.window_seconds};
    const std::string& url = prepared->url;
    const Checked checked = store_.check_and_record(document.header.id, prepared->text_fingerprint, url,
                                                    near_on ? &near : nullptr, near.now);
    if (!checked.outcome && checked.damaged) {
      // A page of the file cannot be read: the store is set aside and an empty one takes over; the
      // document is decided again (against the new store) by the runtime's retry.
      if (runtime::Status recovered = store_.recover(checked.error); !recovered.ok()) {
        return runtime::Verdict::dead_letter("the fingerprint store cannot be recovered: " + recovered.message());
      }
      report_set_aside();
      return runtime::Verdict::retry(checked.error);
    }
    if (!checked.outcome) {
      // Retrying what can never pass (a full map) only holds the pipeline up for ~25 s.
      if (checked.transient) return runtime::Verdict::retry(checked.error);
      return runtime::Verdict::dead_letter("the fingerprint store cannot record the document: " + checked.error);
    }
    const Outcome& outcome = *checked.outcome;
    context_.counters->add(decision_name(outcome.decision));
    nlohmann::json tag = {{"status", decision_name(outcome.decision)}, {"of", nullptr}};
    if (outcome.decision == Decision::Duplicate) {
      tag["of"] = outcome.of;
      tag["similarity"] = 1.0;
      if (!settings_.tag_only) return runtime::Verdict::drop("duplicate of " + outcome.of);
    } else if (outcome.decision == Decision::NearDuplicate) {
      tag["of"] = outcome.of;
      tag["similarity"] = std::round(outcome.similarity * 1000) / 1000;
      if (!settings_.near_tag_only) return runtime::Verdict::drop("near duplicate of " + outcome.of);
    }
    document.record["dedupe"] = std::move(tag);
    return runtime::Verdict::forward();
  }

  // Nothing waits: what was decided is committed now rather than with the next group.
  runtime::Status on_idle() override { return store_.commit(); }

  runtime::Status flush() override {
    // Expiry a bounded batch at a time, so that a flush never stalls the stream behind a long clean-up.
    auto removed = store_.expire(now_seconds(), settings_.window_seconds, settings_.expire_per_flush);
    if (!removed) return runtime::Status::error(removed.error());
    if (*removed > 0) context_.counters->add("expired", static_cast<std::uint64_t>(*removed));
    return store_.sync();
  }

 private:
  static bool is_html(const runtime::Document& document) {
    const auto type = document.record.find("content_type");
    return type != document.record.end() && type->is_string() && type->get_ref<const std::string&>() == "text/html";
  }
  static std::string_view url_of(const runtime::Document& document) {
    const auto url = document.record.find("url");
    return url != document.record.end() && url->is_string() ? std::string_view(url->get_ref<const std::string&>())
                                                            : std::string_view();
  }
  // 0 for a document without a body, which is never prepared.
  static std::uint64_t body_hash(const runtime::Document& document) {
    const std::string* body = runtime::body_of(document.record);
    return body == nullptr ? 0 : XXH3_64bits(body->data(), body->size());
  }

  // What deciding a document needs of its text, computed before the store is asked.
  struct Prepared {
    // Which document it is: the body's bytes are hashed (by upcoming()), so that a document that is not the
    // one shown (a retried one, or another after a stop) is never decided on another's text.
    std::string id;
    std::uint64_t body_hash = 0;
    bool html = false;
    DedupeText text;
    std::string text_fingerprint;
    std::string url;
    bool near_on = false;
    NearSignature signature;

    // Everything prepare() reads: the id, the body (`hash`: body_hash() of the document), its content type
    // and the URL.
    bool is_for(const runtime::Document& document, std::uint64_t hash) const {
      return hash == body_hash && document.header.id == id && is_html(document) == html && url_of(document) == url;
    }
  };

  // Empty when the document has no body.
  std::optional<Prepared> prepare(const runtime::Document& document) const {
    const std::string* body = runtime::body_of(document.record);
    if (body == nullptr) return std::nullopt;
    Prepared prepared;
    prepared.id = document.header.id;
    prepared.html = is_html(document);
    prepared.url = std::string(url_of(document));
    prepared.near_on = settings_.near.method != NearMethod::Off;
    prepared.text = prepare_text(*body, prepared.html, prepared.near_on);
    if (prepared.text.normalized.empty()) return prepared;
    prepared.text_fingerprint = fingerprint(prepared.text.normalized);
    if (prepared.near_on) prepared.signature = near_signature(prepared.text.words, settings_.near);
    return prepared;
  }

  const runtime::StageContext& context_;
  static constexpr std::size_t kAhead = 2;
  std::deque<Prepared> ahead_;  // the documents upcoming() was shown and not yet handed, prepared
  FingerprintStore store_;
  std::string reported_;  // the last set_aside() logged
  DedupeSettings settings_;

  static std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

const runtime::StageDescriptor& dedupe_descriptor() {
  static const runtime::StageDescriptor descriptor = [] {
    runtime::StageDescriptor d{
        "dedupe",
        "Drops (or tags) duplicates (same URL or normalised text) and near duplicates; remembers across restarts.",
        runtime::StageRole::Processor,
        16,
        dedupe_option_specs(),
        [](const runtime::StageContext& context) { return std::make_unique<DedupeStage>(context); },
    };
    d.adds_members = {"dedupe"};  // and nothing else: its output is its input with "dedupe"
    return d;
  }();
  return descriptor;
}

}  // namespace vnawire::dedupe
