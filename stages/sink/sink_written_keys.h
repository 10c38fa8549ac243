// What a sink has stored, so that a replay (the same id with the same body, sent again after a crash)
// is not stored twice: the JSON Lines sink's lines, the webhook sink's deliveries. A file of its own
// holds a checksummed entry per record: its key and, for the JSON Lines sink, where its line ends in the
// active file, with a marker entry where each new active file starts. At start the entries are read back
// and whatever the active file holds beyond the last entry (lines written but not yet recorded when the
// process died) is keyed again from the lines themselves, so the two files never disagree for long.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stages/runtime/status.h"

namespace vnawire::sink {

class WrittenKeys {
 public:
  struct Key {
    std::uint64_t high = 0, low = 0;
    bool operator==(const Key&) const = default;
  };

  // A record's key: 128 bits of its id and body (a changed body is an update, written as a new line).
  static Key key_of(std::string_view id, std::string_view body);
  // The same of a record: its "body" (a string, or else its JSON text; absent: empty).
  static Key key_of_record(std::string_view id, const nlohmann::json& record);
  // The key of a line the active file holds: its id and body; false when it is not such a record.
  static bool key_of_line(std::string_view line, Key& key);

  WrittenKeys() = default;
  ~WrittenKeys();
  WrittenKeys(const WrittenKeys&) = delete;
  WrittenKeys& operator=(const WrittenKeys&) = delete;

  // Reads `file` and catches up with `active`, the file whose lines the entries name (empty: they name
  // no file, as for the webhook's deliveries). `capacity`: how many of the latest keys are kept (a
  // replay of an older record is written again). `warn` hears of what was damaged and set aside: entries
  // failing their checksum, a last line of the active file cut short by a crash (removed from it).
  runtime::Status open(const std::filesystem::path& file, const std::filesystem::path& active, std::size_t capacity,
                       const std::function<void(const std::string&)>& warn);

  bool contains(const Key& key) const { return set_.contains(key); }
  // A line was written to the active file, ending at `end` (its offset after the newline).
  void add(const Key& key, std::uint64_t end);
  // The active file was renamed away: what follows is in a new one.
  void rotated();
  // Writes the entries added since the last call (after the lines they name reached the disk), and
  // syncs them when `sync`.
  runtime::Status flush(bool sync);

 private:
  struct KeyHash {
    std::size_t operator()(const Key& key) const { return static_cast<std::size_t>(key.low); }
  };
  struct Entry {
    Key key;              // 0, 0: a new active file starts
    std::uint64_t end;    // where the line ends in its active file
    std::uint64_t check;  // of the three words before it
  };

  void remember(const Key& key);
  runtime::Status catch_up(const std::filesystem::path& active, std::uint64_t from,
                           const std::function<void(const std::string&)>& warn);
  runtime::Status compact(const std::vector<Entry>& kept);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::size_t remember_ = 0;
  std::deque<Key> order_;
  std::unordered_set<Key, KeyHash> set_;
  std::vector<Entry> pending_;
};

}  // namespace vnawire::sink
