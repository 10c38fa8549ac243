// Reads WARC files (ISO 28500, 1.0 and 1.1), plain or gzip (one member per record or whole-file), for backfill.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "stages/runtime/status.h"

namespace vnawire::fetch {

struct WarcResponse {
  std::string target_uri;    // WARC-Target-URI
  std::string warc_date;     // WARC-Date
  std::string record_id;     // WARC-Record-ID
  int http_status = 0;       // from the HTTP status line of the payload
  std::string content_type;  // the HTTP Content-Type header of the payload
  std::string body;          // the HTTP entity: chunked transfer and gzip/deflate content encoding undone
};

// Yields the `response` records of a WARC file in order (warcinfo, request, metadata... are skipped).
class WarcReader {
 public:
  WarcReader();
  ~WarcReader();
  WarcReader(const WarcReader&) = delete;
  WarcReader& operator=(const WarcReader&) = delete;

  // `.gz` files (by magic bytes, not name) are read as gzip. Records larger than `max_record_bytes` are skipped
  // and counted.
  runtime::Status open(const std::filesystem::path& path, std::size_t max_record_bytes = 64u << 20);
  // Reads the next response record: true and fills `out`; false at the end of the file. A malformed record is
  // an error naming its offset; reading may continue with the next call (the reader resynchronises on the next
  // "WARC/" version line).
  runtime::Result<bool> next(WarcResponse& out);
  std::size_t records_seen() const;     // every record, any type
  std::size_t records_skipped() const;  // too large or malformed
  // Bytes of the file as stored (gzip or plain) read so far, ahead of the records returned by at most one read
  // chunk: the progress of a backfill.
  std::uint64_t file_bytes_read() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vnawire::fetch
