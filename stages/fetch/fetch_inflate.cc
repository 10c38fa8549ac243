// One bounded inflate loop for gzip, zlib and raw deflate bodies; see fetch_inflate.h.
#include "stages/fetch/fetch_inflate.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace vnawire::fetch {
namespace {

struct Format {
  int window_bits;   // zlib's: 15 + 32 detects gzip or zlib, -15 is raw deflate
  const char* name;  // as error messages call the data
};

constexpr Format kGzip{15 + 32, "gzip"};
constexpr Format kRawDeflate{-15, "deflate"};

runtime::Result<std::string> inflate_bounded(std::string_view data, std::size_t max_bytes, Format format) {
  const std::string name = format.name;
  if (data.empty()) return runtime::Status::error("no " + name + " data");
  if (data.size() > UINT_MAX) return runtime::Status::error(name + " data too large");
  z_stream stream{};
  if (inflateInit2(&stream, format.window_bits) != Z_OK) return runtime::Status::error("zlib init failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  // A fixed window: a gzip bomb costs this plus at most `max_bytes`, never what it claims to inflate to.
  char window[64 * 1024];
  for (;;) {
    stream.next_out = reinterpret_cast<Bytef*>(window);
    stream.avail_out = sizeof window;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    const std::size_t produced = sizeof window - stream.avail_out;
    if (out.size() + produced > max_bytes) {
      return runtime::Status::error(name + " data inflates beyond " + std::to_string(max_bytes) + " bytes");
    }
    if (out.size() + produced > out.capacity()) {  // grow as append would, but never past the bound
      out.reserve(std::min(max_bytes, std::max(out.capacity() * 2, out.size() + produced)));
    }
    out.append(window, produced);
    if (rc == Z_STREAM_END) {
      // Another gzip member follows (concatenated gzip); anything else after the end is padding and ignored.
      const bool member_follows =
          format.window_bits > 0 && stream.avail_in >= 2 && stream.next_in[0] == 0x1f && stream.next_in[1] == 0x8b;
      if (!member_follows) return out;
      inflateReset(&stream);
    } else if (rc == Z_BUF_ERROR || (rc == Z_OK && stream.avail_in == 0 && produced == 0)) {
      return runtime::Status::error("truncated " + name + " data");
    } else if (rc != Z_OK) {
      return runtime::Status::error("corrupt " + name + " data: " + (stream.msg ? stream.msg : "inflate failed"));
    }
  }
}

}  // namespace

runtime::Result<std::string> gunzip(std::string_view data, std::size_t max_bytes) {
  return inflate_bounded(data, max_bytes, kGzip);
}

runtime::Result<std::string> inflate_deflate(std::string_view data, std::size_t max_bytes) {
  const bool zlib_header = data.size() >= 2 && (data[0] & 0x0F) == 8 &&
                           ((static_cast<unsigned char>(data[0]) << 8) | static_cast<unsigned char>(data[1])) % 31 == 0;
  return inflate_bounded(data, max_bytes, zlib_header ? kGzip : kRawDeflate);  // kGzip's window reads zlib too
}

}  // namespace vnawire::fetch
