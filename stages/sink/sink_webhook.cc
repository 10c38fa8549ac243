// The HTTP webhook sink: records are POSTed in batches (a JSON array or NDJSON) to a URL, with headers
// from the config and a bearer token read from a file. 2xx: delivered. 4xx (but 408 and 429): the
// receiver refuses them, for good: each record of the batch is dead-lettered with the answer. 5xx, 408,
// 429 and network failures: the batch is kept and sent again after a backoff (0.5 s doubling to 60 s),
// and the stage takes no new record while it waits (the runtime retries it), so nothing is dropped.
// A replay of a record delivered lately (same id and body) is acknowledged without a second POST (its key
// is remembered in <stage_dir>/delivered.<replica>.keys); each POST carries an Idempotency-Key header, the
// same for the same records, so a receiver can drop a batch sent again after a crash between its 2xx and
// the keys reaching the disk.
#include <curl/curl.h>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "stages/runtime/ascii_text.h"
#include "stages/runtime/codec.h"
#include "stages/sink/sink_stages.h"
#include "stages/sink/sink_written_keys.h"

namespace vnawire::sink {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;
using Clock = std::chrono::steady_clock;

constexpr auto kFirstBackoff = std::chrono::milliseconds(500);
constexpr auto kLastBackoff = std::chrono::seconds(60);

std::size_t keep_answer(char* data, std::size_t size, std::size_t count, void* out) {
  auto* answer = static_cast<std::string*>(out);
  const std::size_t n = size * count;
  if (answer->size() < 512) answer->append(data, std::min(n, 512 - answer->size()));  // enough for a reason
  return n;
}

class WebhookSink final : public runtime::Stage {
 public:
  explicit WebhookSink(const runtime::StageContext& context) : context_(context) {}
  ~WebhookSink() override {
    if (headers_ != nullptr) curl_slist_free_all(headers_);
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }

  runtime::Status start() override {
    const runtime::Options& options = *context_.options;
    url_ = options.get_string("url");
    if (!url_.starts_with("http://") && !url_.starts_with("https://")) {
      return runtime::Status::error("url must start with http:// or https://: " + url_);
    }
    ndjson_ = options.get_string("format") == "ndjson";
    batch_size_ = static_cast<std::size_t>(options.get_int("batch_size"));
    timeout_ms_ = options.get_int("timeout_ms");
    headers_ =
        curl_slist_append(headers_, ndjson_ ? "Content-Type: application/x-ndjson" : "Content-Type: application/json");
    for (const std::string& header : options.get_list("headers")) {
      if (header.find(':') == std::string::npos) {
        return runtime::Status::error("headers: \"" + header + "\" is not \"Name: value\"");
      }
      headers_ = curl_slist_append(headers_, header.c_str());
    }
    if (const std::string& file = options.get_string("bearer_token_file"); !file.empty()) {
      std::ifstream in(context_.resolve(file));
      std::stringstream token;
      token << in.rdbuf();
      const std::string text = token.str();
      const std::string_view secret = runtime::trim(text);
      if (!in || secret.empty()) {
        return runtime::Status::error("bearer_token_file: cannot read a token from " + context_.resolve(file).string());
      }
      headers_ = curl_slist_append(headers_, ("Authorization: Bearer " + std::string(secret)).c_str());
    }
    curl_ = curl_easy_init();
    if (curl_ == nullptr) return runtime::Status::error("curl_easy_init failed");
    if (const auto remember = options.get_int("replay_memory"); remember > 0) {
      const auto file = context_.stage_dir / ("delivered." + std::to_string(context_.replica) + ".keys");
      const auto warn = [this](const std::string& what) {
        context_.log->warn("{}", what);
        context_.counters->add("damaged_set_aside");
      };
      if (runtime::Status status = delivered_.open(file, {}, static_cast<std::size_t>(remember), warn); !status.ok()) {
        return status;
      }
      check_replays_ = true;
    }
    return {};
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    if (batch_.size() >= batch_size_) {
      // The full batch waits for the receiver: the runtime keeps this record and offers it again.
      if (const runtime::Status status = deliver(); !status.ok()) return runtime::Verdict::retry(status.message());
    }
    const WrittenKeys::Key key = WrittenKeys::key_of_record(document.header.id, document.record);
    if (check_replays_ && (delivered_.contains(key) || std::any_of(batch_.begin(), batch_.end(), [&](const Item& item) {
                             return item.key == key;
                           }))) {
      context_.counters->add("replays_skipped");
      return runtime::Verdict::forward();  // delivered already, or about to be
    }
    batch_.push_back({document.header.id, runtime::record_text(document), key});
    if (batch_.size() >= batch_size_) (void)deliver();  // a failure keeps the batch for the next call
    return runtime::Verdict::forward();
  }

  runtime::Status on_idle() override { return deliver(); }
  runtime::Status flush() override { return deliver(); }

 private:
  struct Item {
    std::string id;
    std::string json;
    WrittenKeys::Key key;
  };

  const runtime::StageContext& context_;
  std::string url_;
  bool ndjson_ = false;
  std::size_t batch_size_ = 100;
  std::int64_t timeout_ms_ = 10000;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::vector<Item> batch_;
  bool check_replays_ = false;
  WrittenKeys delivered_;
  Clock::time_point next_attempt_{};
  Clock::duration backoff_ = kFirstBackoff;

  std::string body() const {
    std::string text = ndjson_ ? "" : "[";
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      if (!ndjson_ && i > 0) text += ',';
      text += batch_[i].json;
      if (ndjson_) text += '\n';
    }
    if (!ndjson_) text += ']';
    return text;
  }

  // Sends the batch, if any and if its backoff has passed: ok once it is delivered or dead-lettered.
  runtime::Status deliver() {
    if (batch_.empty()) return {};
    if (Clock::now() < next_attempt_) return runtime::Status::error("waiting to send to " + url_ + " again");
    const std::string payload = body();
    // The batch's records, not its bytes: the same records sent again carry the same key.
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    for (const Item& item : batch_) XXH3_64bits_update(&state, &item.key, sizeof item.key);
    char idempotency[64];
    std::snprintf(idempotency, sizeof idempotency, "Idempotency-Key: %016llx",
                  static_cast<unsigned long long>(XXH3_64bits_digest(&state)));
    curl_slist* headers = nullptr;
    for (const curl_slist* header = headers_; header != nullptr; header = header->next) {
      headers = curl_slist_append(headers, header->data);
    }
    headers = curl_slist_append(headers, idempotency);
    std::string answer;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "vnawire-sink");
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &answer);
    const CURLcode code = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    long status = 0;
    if (code == CURLE_OK) curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK && status >= 200 && status < 300) {
      if (check_replays_) {
        for (const Item& item : batch_) delivered_.add(item.key, 0);
        if (runtime::Status kept = delivered_.flush(true); !kept.ok()) context_.log->warn("{}", kept.message());
      }
      context_.counters->add("posted", batch_.size());
      context_.counters->add("batches");
      batch_.clear();
      backoff_ = kFirstBackoff;
      next_attempt_ = {};
      return {};
    }
    if (code == CURLE_OK && status >= 400 && status < 500 && status != 408 && status != 429) {
      const std::string reason =
          "the webhook refused the batch: HTTP " + std::to_string(status) + ": " + std::string(runtime::trim(answer));
      for (const Item& item : batch_) context_.dead_letter(reason, item.id, item.json);
      context_.counters->add("refused", batch_.size());
      batch_.clear();
      return {};
    }
    const std::string why = code != CURLE_OK ? curl_easy_strerror(code) : "HTTP " + std::to_string(status);
    context_.counters->add("post_failed");
    next_attempt_ = Clock::now() + backoff_;
    backoff_ = std::min<Clock::duration>(backoff_ * 2, kLastBackoff);
    return runtime::Status::error("cannot POST " + std::to_string(batch_.size()) + " record(s) to " + url_ + ": " +
                                  why + " (kept, sent again later)");
  }
};

}  // namespace

const runtime::StageDescriptor& webhook_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "sink_webhook",
      "Sink: POSTs records in batches (JSON array or NDJSON) to an HTTP endpoint; 2xx delivers, 4xx dead-letters, "
      "other failures are retried with backoff.",
      runtime::StageRole::Sink,
      16,
      {
          OptionSpec{"url", OptionType::String, {}, "The endpoint (http:// or https://).", true},
          OptionSpec{"format",
                     OptionType::String,
                     std::string("json"),
                     "The body: a JSON array of records, or one record per line (NDJSON).",
                     false,
                     std::nullopt,
                     std::nullopt,
                     {"json", "ndjson"}},
          OptionSpec{"batch_size", OptionType::Int, std::int64_t{100},
                     "Records per POST; a smaller batch is sent as soon as no record waits, and at each flush.", false,
                     1.0, 100000.0},
          OptionSpec{"headers", OptionType::StringList, std::vector<std::string>{},
                     "Extra request headers, each \"Name: value\"."},
          OptionSpec{"bearer_token_file", OptionType::String, std::string(""),
                     "A file holding a token sent as \"Authorization: Bearer <token>\" (relative paths are under "
                     "state_dir); keeps the secret out of the config."},
          OptionSpec{"timeout_ms", OptionType::Int, std::int64_t{10000}, "Longest a POST may take.", false, 100.0,
                     600000.0},
          OptionSpec{"replay_memory", OptionType::Int, std::int64_t{100000},
                     "How many of the latest delivered records are remembered (their id and body) so that a replay "
                     "of one is acknowledged without a second POST; 0: every record is posted.",
                     false, 0.0, 1e8},
      },
      [](const runtime::StageContext& context) { return std::make_unique<WebhookSink>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::sink
