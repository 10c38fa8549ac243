// Replays of dead letters: files `vnawire dead-letters replay` leaves in <state_dir>/replay/, which a source
// stage's runtime claims and sends into the pipeline again (docs/dead-letters.md).
#pragma once

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "stages/runtime/document.h"
#include "stages/runtime/status.h"

namespace vnawire::runtime {

// <state_dir>/replay: where replays wait for a source stage.
std::filesystem::path replay_spool_dir(const std::filesystem::path& state_dir);

class ReplaySpool {
 public:
  // `identity`: the replica's ("fetch#0") of source `stage`. It takes files from <spool>/<stage>/ (replays
  // meant for this source) and <spool>/ (for any). Its claimed files live in <spool>/claimed/<identity>/,
  // where a file stays until every one of its documents was sent, so a crash sends it again at the next start.
  ReplaySpool(const std::filesystem::path& state_dir, const std::string& stage, const std::string& identity);

  struct Taken {
    std::vector<Document> documents;         // attempt already raised by one
    std::vector<std::string> problems;       // lines that gave no document, each with why (the caller logs them)
    std::vector<std::string> problem_lines;  // those lines as stored, to be dead-lettered again
  };
  // Up to `budget` documents of the file being replayed; claims the next waiting file when none is.
  Taken take(int budget);
  // Each document take() gave ends in exactly one of these. `abandoned`: neither sent nor dead-lettered,
  // so its file is kept for the next start.
  void sent() { finish(false); }
  void abandoned() { finish(true); }
  // Whether a file is being replayed (documents are out or left to take).
  bool busy() const { return !current_.empty(); }

 private:
  bool claim_next();
  void finish(bool keep);
  void close_current();

  std::filesystem::path spool_, own_, claimed_;
  std::filesystem::path current_;
  std::vector<std::string> lines_;
  std::size_t next_line_ = 0, outstanding_ = 0;
  bool keep_current_ = false;
  std::set<std::filesystem::path> left_for_next_start_;
};

}  // namespace vnawire::runtime
