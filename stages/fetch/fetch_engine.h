// The fetch stage's logic without the process around it: every source (web, directory, WARC) turned into
// documents, with the persistent state that makes restarts emit nothing twice and forget nothing. The stage
// and `vnawire fetch` both drive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "stages/fetch/fetch_config.h"
#include "stages/fetch/fetch_directory.h"
#include "stages/fetch/fetch_state.h"
#include "stages/fetch/fetch_warc.h"
#include "stages/fetch/fetch_web.h"
#include "stages/runtime/stage.h"

namespace vnawire::fetch {

// A file's bytes, read in one go of the size fstat gives: nullopt when it cannot be opened or read, is not a
// regular file, or holds more than `limit` bytes (it grew since it was listed), which `too_large` then says.
std::optional<std::string> read_file(const std::filesystem::path& path, std::uint64_t limit, bool& too_large);

class FetchEngine {
 public:
  // `stage_name` goes into records' `source`; state lives under `stage_dir`.
  FetchEngine(FetchSettings settings, std::string stage_name, std::filesystem::path stage_dir, FetchHooks hooks);
  ~FetchEngine();

  runtime::Status start();
  // Emits at most `budget` documents; returns how long until there may be more.
  std::chrono::milliseconds produce(runtime::Emitter& out, int budget);
  // The document left the process: its emission is recorded (committed at once, so a killed process does
  // not emit it again).
  void on_sent(const runtime::Document& document);
  // The runtime gave up on sending it (too large, downstream stuck, stop deadline): not recorded as emitted,
  // so it is sent again after a restart.
  void on_abandoned(const runtime::Document& document);
  runtime::Status flush();
  // Every source polled once and nothing left to fetch or emit (what `vnawire fetch` without --follow waits for).
  bool finished() const;
  // Bytes of the WARC files read, of their total size (files an earlier run read completely count as read).
  runtime::SourceProgress progress() const;

  // What start() found damaged in the state file and set aside ("" when nothing).
  const std::string& state_set_aside() const { return state_.set_aside(); }

 private:
  struct Emission {
    std::string kind;  // "web", "warc" or "file"
    std::string source;
    std::int64_t version = 1;
    std::string content_hash;
    std::string etag;
    std::string last_modified;
    FileEntry file;
    std::size_t directory = 0;
  };
  struct WarcCursor {
    WarcSource source;
    std::vector<std::filesystem::path> files;
    std::vector<std::uint64_t> sizes;  // of `files`, taken at start
    std::size_t next_file = 0;
    std::unique_ptr<WarcReader> reader;
    std::string resource_key;
  };

  void page_to_document(FetchedPage page);
  // Builds a document from a fetched body; false when it was dead-lettered or unchanged.
  bool make_document(const std::string& id, const std::string& url, const std::string& source,
                     const std::string& content_type, const std::string& body, const Item& known,
                     nlohmann::json fetch_info, Emission emission);
  bool produce_directory(std::size_t index);
  bool produce_warc(WarcCursor& cursor);
  void count(const std::string& counter, std::uint64_t n = 1) { hooks_.count(counter, n); }

  FetchSettings settings_;
  std::string stage_name_;
  std::filesystem::path stage_dir_;
  FetchHooks hooks_;
  FetchState state_;
  std::unique_ptr<WebCrawler> crawler_;
  std::vector<std::unique_ptr<DirectoryTail>> tails_;
  std::vector<std::chrono::steady_clock::time_point> next_scan_;
  std::vector<WarcCursor> warcs_;
  std::deque<runtime::Document> ready_;
  std::unordered_map<std::string, Emission> in_flight_;  // by document id
  std::uint64_t sequence_ = 0;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point last_refill_;
};

}  // namespace vnawire::fetch
