// The dead-letter file: every document a stage could not handle, with the reason, one checksummed JSON line each.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stages/runtime/status.h"

namespace vnawire::runtime {

inline constexpr int kDeadLetterFormat = 2;  // the "v" field of a record (docs/dead-letters.md)

class DeadLetterWriter {
 public:
  DeadLetterWriter() = default;
  ~DeadLetterWriter();
  DeadLetterWriter(const DeadLetterWriter&) = delete;
  DeadLetterWriter& operator=(const DeadLetterWriter&) = delete;

  // Opens (creating folders) `path` for appending. A last line cut short by a crash is moved to
  // `<path>.damaged` first, so that the next record does not continue it; set_aside() then says so.
  Status open(const std::filesystem::path& path, std::string stage, int replica);
  // Writes one record and makes it durable (fdatasync) before returning: a dead letter acknowledges the
  // document, so it must outlive a crash that follows the count's report. Header and payload are kept as
  // text when valid UTF-8, else base64; the id and attempt are read from the header when it decodes.
  Status write(std::string_view reason, std::string_view id, std::string_view header, std::string_view payload);
  const std::filesystem::path& path() const { return path_; }
  // What open() set aside ("" when the file was whole).
  const std::string& set_aside() const { return set_aside_; }

 private:
  Status reopen_if_replaced();

  std::FILE* file_ = nullptr;
  std::filesystem::path path_;
  std::string stage_;
  int replica_ = 0;
  std::string set_aside_;
};

// One record, as the store reads it back.
struct DeadLetter {
  nlohmann::json fields;  // the line as written (v1 lines are given a "v": 1)
  std::string key;        // 16 hex digits: the checksum, or for a v1 line the hash of the line
  bool verified = false;  // the checksum matched (v2); v1 lines have none
  std::string header;     // the header frame, decoded from base64 when it was stored so
  std::string payload;    // the payload frame, likewise
  std::string time;       // UTC ISO-8601
  std::string stage, id, reason;
  int replica = 0;
  std::int64_t attempt = -1;  // -1: unknown
};

// The canonical text of `fields` without its checksum, and its XXH3-64 as 16 hex digits.
std::string dead_letter_checksum(const nlohmann::json& fields);
// Parses one line of a dead-letter file; the error says why it was set aside (bad JSON, checksum, fields).
Result<DeadLetter> parse_dead_letter(std::string_view line);
// Milliseconds since the epoch as UTC ISO-8601 with milliseconds ("2026-12-02T02:50:00.123Z").
std::string iso_time(std::int64_t epoch_ms);

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace vnawire::runtime
