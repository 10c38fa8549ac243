// The fetch stage: turns files of a tailed directory into documents, politely rate-limited.
#include "stages/fetch/fetch_stage.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "stages/fetch/fetch_directory.h"
#include "stages/runtime/codec.h"
#include "stages/runtime/record.h"

namespace vnawire::fetch {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;
using std::chrono::milliseconds;

class FetchStage final : public runtime::Stage {
 public:
  explicit FetchStage(const runtime::StageContext& context) : context_(context) {}

  runtime::Status start() override {
    const auto& options = *context_.options;
    DirectoryTail::Settings settings;
    settings.directory = context_.resolve(options.get_string("directory"));
    for (auto ext : options.get_list("extensions")) {
      if (!ext.empty() && ext[0] != '.') ext = "." + ext;
      settings.extensions.push_back(ext);
    }
    settings.recursive = options.get_bool("recursive");
    settings.settle_ms = options.get_int("settle_ms");
    poll_interval_ = milliseconds(options.get_int("poll_interval_ms"));
    max_bytes_ = static_cast<std::uintmax_t>(options.get_int("max_bytes"));
    rate_ = options.get_double("max_docs_per_second");
    return tail_.open(settings, context_.stage_dir / "emitted.log");
  }

  milliseconds produce(runtime::Emitter& out, int budget) override {
    if (!tail_.has_next() && tail_.scan() > 0) context_.log->debug("{} new file(s)", tail_.queued());
    int allowed = budget;
    if (rate_ > 0) {
      const auto now = std::chrono::steady_clock::now();
      tokens_ = std::min(rate_, tokens_ + rate_ * std::chrono::duration<double>(now - last_refill_).count());
      last_refill_ = now;
      allowed = std::min(budget, static_cast<int>(tokens_));
      if (allowed == 0) return milliseconds(static_cast<int>(1000.0 / rate_) + 1);
    }
    int emitted = 0;
    while (emitted < allowed && tail_.has_next()) {
      FileEntry file = tail_.next();
      if (emit_file(file, out)) ++emitted;
    }
    tokens_ -= emitted;
    if (tail_.has_next()) return milliseconds(rate_ > 0 ? static_cast<int>(1000.0 / rate_) + 1 : 0);
    return poll_interval_;
  }

  void on_sent(const runtime::Document& document) override {
    auto it = in_flight_.find(document.header.id);
    if (it == in_flight_.end()) return;
    tail_.mark_emitted(it->second);
    in_flight_.erase(it);
  }

  runtime::Status flush() override { return tail_.flush(); }

 private:
  // Reads one file into a document; unreadable or undecodable files are dead-lettered and not retried.
  bool emit_file(const FileEntry& file, runtime::Emitter& out) {
    const std::string location = "file://" + file.path.string();
    const std::string id = document_id_for(location);
    auto reject = [&](const std::string& reason, const std::string& payload) {
      context_.counters->add("files_rejected");
      context_.dead_letter(reason + ": " + file.path.string(), id, payload);
      tail_.mark_emitted(file);
      return false;
    };
    if (file.size > max_bytes_) return reject("file larger than max_bytes", "");
    std::ifstream in(file.path, std::ios::binary);
    if (!in) return reject("cannot read the file", "");
    std::ostringstream data;
    data << in.rdbuf();
    std::string body = data.str();
    if (!runtime::is_valid_utf8(body)) return reject("file is not valid UTF-8", body);
    if (body.size() >= 3 && body.compare(0, 3, "\xEF\xBB\xBF") == 0) body.erase(0, 3);  // byte order mark

    runtime::Document document;
    document.header.id = id;
    document.header.trace = id.substr(2, 8) + "-" + std::to_string(++sequence_);
    document.record = {{"id", id},
                       {"url", location},
                       {"content_type", content_type_for(file.path)},
                       {"body", std::move(body)},
                       {"source", context_.name},
                       {"fetched_at", runtime::iso_now_utc()}};
    in_flight_[id] = file;
    context_.counters->add("files_read");
    out.emit(std::move(document));
    return true;
  }

  const runtime::StageContext& context_;
  DirectoryTail tail_;
  milliseconds poll_interval_{1000};
  std::uintmax_t max_bytes_ = 0;
  double rate_ = 0;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point last_refill_ = std::chrono::steady_clock::now();
  std::uint64_t sequence_ = 0;
  std::unordered_map<std::string, FileEntry> in_flight_;
};

}  // namespace

std::string document_id_for(const std::string& location) {
  char hex[20];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(location.data(), location.size())));
  return std::string("f-") + hex;
}

const runtime::StageDescriptor& fetch_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "fetch",
      "Source: tails a directory of dispatches (.txt as text/plain, .html as text/html), one document per file.",
      runtime::StageRole::Source,
      1,
      {
          OptionSpec{"directory", OptionType::String, {}, "The folder to tail (relative paths are under state_dir).",
                     true},
          OptionSpec{"extensions", OptionType::StringList, std::vector<std::string>{".txt", ".html", ".htm"},
                     "File extensions taken; others are ignored."},
          OptionSpec{"recursive", OptionType::Bool, false, "Also tail the folder's subfolders."},
          OptionSpec{"poll_interval_ms", OptionType::Int, std::int64_t{1000}, "How often the folder is scanned.",
                     false, 10.0, 3600000.0},
          OptionSpec{"settle_ms", OptionType::Int, std::int64_t{300},
                     "A file is taken once unmodified for this long, so half-written files are not read.", false,
                     0.0, 600000.0},
          OptionSpec{"max_bytes", OptionType::Int, std::int64_t{16 << 20},
                     "Larger files are dead-lettered instead of read.", false, 1.0, 1073741824.0},
          OptionSpec{"max_docs_per_second", OptionType::Double, 0.0,
                     "Upper bound on documents emitted per second; 0 means no bound.", false, 0.0, 1000000.0},
      },
      [](const runtime::StageContext& context) { return std::make_unique<FetchStage>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::fetch
