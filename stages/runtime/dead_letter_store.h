// The dead-letter folder read back as a whole: every record with its key, and lines that had to be set aside.
#pragma once

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "stages/runtime/dead_letter.h"
#include "stages/runtime/status.h"

namespace vnawire::runtime {

struct StoredDeadLetter {
  DeadLetter letter;
  std::filesystem::path file;
  std::size_t line = 0;  // 1-based
  std::string text;      // the line as stored, without its newline
};

// A line that is not a record: bad JSON, a checksum that does not match, a last line cut short.
struct SetAsideLine {
  std::filesystem::path file;
  std::size_t line = 0;
  std::string why;
  std::string text;  // the line as stored
  std::string to_string() const {
    return "line " + std::to_string(line) + " of " + file.string() + ": set aside: " + why;
  }
};

struct DeadLetterScan {
  std::vector<StoredDeadLetter> letters;  // in file-name, then line order
  std::vector<SetAsideLine> set_aside;
};

// Reads one file, or every `*.jsonl` of a folder (the spool of replays too).
DeadLetterScan scan_dead_letters(const std::filesystem::path& file_or_folder);

// Rewrites each file of `folder` that holds one of `keys` without those records: written aside, synced and
// renamed over the file under the writers' lock, so a running stage appends to the new file. Removed
// records go to `keep_in`/<file name> when it is not empty; lines that are set aside go to `<file>.damaged`.
// Returns how many records were removed.
Result<std::size_t> remove_dead_letters(const std::filesystem::path& folder, const std::set<std::string>& keys,
                                        const std::filesystem::path& keep_in);

// Moves the damaged lines of `file` (bad JSON, bad checksum, cut short) to `<file>.damaged`, rewriting it
// like remove_dead_letters(); returns them (none: the file is left as it is).
Result<std::vector<SetAsideLine>> set_aside_damaged_lines(const std::filesystem::path& file);

// Writes `text` to `path` by way of a synced temporary file and a rename.
Status write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace vnawire::runtime
