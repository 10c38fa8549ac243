// A streaming WARC reader: a buffered (optionally inflating) byte source, record framing with resync, and the
// HTTP payload of response records.
#include "stages/fetch/fetch_warc.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stages/fetch/fetch_inflate.h"
#include "stages/fetch/fetch_text.h"

namespace vnawire::fetch {
namespace {

constexpr std::size_t kChunk = 64 * 1024;
// A WARC or HTTP header block, or a line, longer than this is not one: it is debris or binary data.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxLine = 8 * 1024;

// What is trimmed around WARC and HTTP header lines and fields: blanks and line ends, not \v or \f.
constexpr std::string_view kHeaderSpace = " \t\r\n";

// "WARC/1.0", "WARC/1.1" (and the 0.x drafts): the only way a record starts.
bool is_version_line(std::string_view line) {
  line = trim(line, kHeaderSpace);
  return line.size() > 5 && line.size() < 16 && line.starts_with("WARC/") &&
         line.find_first_not_of("0123456789.", 5) == std::string_view::npos;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

// Adds one "Name: value" line (or the continuation of the previous one); false when it is neither.
bool add_header_line(Headers& headers, std::string_view line) {
  if ((line.front() == ' ' || line.front() == '\t') && !headers.empty()) {
    headers.back().second += " ";
    headers.back().second += trim(line, kHeaderSpace);
    return true;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || trim(line.substr(0, colon), kHeaderSpace).empty()) return false;
  headers.emplace_back(trim(line.substr(0, colon), kHeaderSpace), trim(line.substr(colon + 1), kHeaderSpace));
  return true;
}

// Inflates gzip members one after another (whole-file and per-record gzip alike) or raw deflate, one bounded
// step at a time, so that memory stays flat whatever the data inflates to.
class Inflater {
 public:
  explicit Inflater(int window_bits) : gzip_(window_bits > 0) { ready_ = inflateInit2(&stream_, window_bits) == Z_OK; }
  ~Inflater() {
    if (ready_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // `data` must stay alive until needs_input().
  void feed(const char* data, std::size_t size) {
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    stream_.avail_in = static_cast<uInt>(size);
    member_start_ = stream_.next_in;
    member_began_earlier_ = !between_members_ || hunting_;
  }
  bool needs_input() const { return stream_.avail_in == 0; }
  bool between_members() const { return between_members_; }
  const std::string& error() const { return error_; }

  // Appends at most kChunk bytes to `out`: how many, or -1 on corrupt data. After an error a gzip stream
  // skips to the next member header, so that one damaged record does not lose the rest of the file.
  long step(std::string& out) {
    if (!ready_) {
      error_ = "zlib init failed";
      stream_.avail_in = 0;  // nothing can be done with it
      return -1;
    }
    if (hunting_) {
      if (!find_next_member()) return 0;
      out += '\n';  // the damaged member's output may end mid-line: the next member's first line stands alone
    }
    char window[kChunk];
    stream_.next_out = reinterpret_cast<Bytef*>(window);
    stream_.avail_out = sizeof window;
    const uInt input_before = stream_.avail_in;
    const int rc = inflate(&stream_, Z_NO_FLUSH);
    const std::size_t produced = sizeof window - stream_.avail_out;
    out.append(window, produced);
    if (produced > 0 || stream_.avail_in != input_before) between_members_ = false;
    if (rc == Z_STREAM_END) {
      inflateReset(&stream_);
      member_start_ = stream_.next_in;
      member_began_earlier_ = false;
      between_members_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      error_ = stream_.msg != nullptr ? stream_.msg : "inflate failed";
      hunting_ = gzip_;
      between_members_ = true;
      return -1;
    }
    return static_cast<long>(produced);
  }

 private:
  // zlib may have read past the damage into the next member (taking its header for a trailer), so the search
  // starts again just after where the broken member began, within the current input.
  bool find_next_member() {
    const Bytef* input_end = stream_.next_in + stream_.avail_in;
    const std::string_view input(reinterpret_cast<const char*>(member_start_),
                                 static_cast<std::size_t>(input_end - member_start_));
    const std::size_t found = input.find("\x1f\x8b\x08", member_began_earlier_ ? 0 : 1);
    member_start_ = found == std::string_view::npos ? input_end : member_start_ + found;
    stream_.next_in = const_cast<Bytef*>(member_start_);
    stream_.avail_in = static_cast<uInt>(input_end - member_start_);
    member_began_earlier_ = false;
    if (found == std::string_view::npos) return false;
    inflateReset(&stream_);
    hunting_ = false;
    return true;
  }

  z_stream stream_{};
  const Bytef* member_start_ = nullptr;  // where the current member began, or the current input if earlier
  bool member_began_earlier_ = false;    // in an earlier input, so member_start_ itself may be the next one
  bool gzip_;
  bool ready_ = false;
  bool hunting_ = false;
  bool between_members_ = true;
  std::string error_;
};

// Undoes chunked transfer coding. Archivers disagree on whether they store the body as sent: a body that does
// not start with a chunk size is taken as already dechunked, and a cut-off body keeps what was complete.
std::optional<std::string> dechunk(std::string_view body) {
  std::string out;
  std::size_t at = 0;
  for (bool first = true;; first = false) {
    const std::size_t eol = body.find('\n', at);
    if (eol == std::string_view::npos) return first ? std::nullopt : std::optional(out);
    std::string_view size_text = trim(body.substr(at, eol - at), kHeaderSpace);
    size_text = trim(size_text.substr(0, size_text.find(';')), kHeaderSpace);  // chunk extensions
    std::uint64_t size = 0;
    if (size_text.empty() || size_text.size() > 15 ||
        size_text.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
      return first ? std::nullopt : std::optional(out);
    }
    for (char c : size_text)
      size = size * 16 + static_cast<std::uint64_t>(std::isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    at = eol + 1;
    if (size == 0) return out;  // trailers, if any, are not part of the entity
    out.append(body.substr(at, static_cast<std::size_t>(std::min<std::uint64_t>(size, body.size() - at))));
    if (size > body.size() - at) return out;
    at += static_cast<std::size_t>(size);
    if (body.substr(at).starts_with("\r\n"))
      at += 2;
    else if (body.substr(at).starts_with("\n"))
      at += 1;
  }
}

runtime::Status decode_content(std::string& body, std::string_view encodings, std::size_t max_bytes) {
  std::vector<std::string_view> applied;
  for (std::size_t at = 0; at <= encodings.size();) {
    const std::size_t comma = std::min(encodings.find(',', at), encodings.size());
    const std::string_view coding = trim(encodings.substr(at, comma - at), kHeaderSpace);
    if (!coding.empty()) applied.push_back(coding);
    at = comma + 1;
  }
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) {  // the last applied is undone first
    runtime::Result<std::string> decoded = body;
    if (iequals(*it, "gzip") || iequals(*it, "x-gzip")) {
      // A body without the gzip magic was stored inflated by the archiver, header notwithstanding.
      if (!body.starts_with("\x1f\x8b")) continue;
      decoded = gunzip(body, max_bytes);
    } else if (iequals(*it, "deflate")) {
      decoded = inflate_deflate(body, max_bytes);
    } else if (!iequals(*it, "identity")) {
      return runtime::Status::error("unsupported content encoding " + std::string(*it));
    }
    if (!decoded.ok()) return runtime::Status::error("content encoding " + std::string(*it) + ": " + decoded.error());
    body = std::move(*decoded);
  }
  return {};
}

runtime::Status parse_http_response(std::string_view block, std::size_t max_bytes, WarcResponse& out) {
  const std::size_t crlf = block.find("\r\n\r\n"), lf = block.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) {
    return runtime::Status::error("HTTP header without an end");
  }
  const std::size_t header_end = std::min(crlf, lf);
  const std::size_t body_start = header_end + (header_end == crlf ? 4 : 2);
  if (header_end > kMaxHeaderBytes) return runtime::Status::error("HTTP header too long");
  std::string_view head = block.substr(0, header_end);
  const std::size_t first_eol = std::min(head.find('\n'), head.size());
  const std::string_view status_line = trim(head.substr(0, first_eol), kHeaderSpace);
  const std::size_t space = status_line.find(' ');
  const std::string_view code = space == std::string_view::npos ? "" : status_line.substr(space + 1, 3);
  if (!status_line.starts_with("HTTP/") || code.size() != 3 ||
      code.find_first_not_of("0123456789") != std::string_view::npos) {
    return runtime::Status::error("bad HTTP status line '" + std::string(status_line.substr(0, 80)) + "'");
  }
  out.http_status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  Headers headers;
  for (std::size_t at = first_eol + 1; at < head.size();) {
    const std::size_t eol = std::min(head.find('\n', at), head.size());
    const std::string_view line = head.substr(at, eol - at);
    if (!trim(line, kHeaderSpace).empty())
      add_header_line(headers, line);  // a broken header line is dropped, as browsers do
    at = eol + 1;
  }
  out.content_type = header(headers, "Content-Type");
  out.body.assign(block.substr(body_start));
  const std::string transfer = header(headers, "Transfer-Encoding");
  if (strcasestr(transfer.c_str(), "chunked") != nullptr) {
    if (auto dechunked = dechunk(out.body)) out.body = std::move(*dechunked);
  }
  return decode_content(out.body, header(headers, "Content-Encoding"), max_bytes);
}

}  // namespace

struct WarcReader::Impl {
  std::FILE* file = nullptr;
  std::size_t max_record_bytes = 0;
  std::optional<Inflater> inflater;  // set for gzip files
  std::vector<char> raw = std::vector<char>(kChunk);
  std::string buffer;  // read (and inflated) bytes not consumed yet, from `at`
  std::size_t at = 0;
  std::uint64_t offset = 0;  // of buffer[at], in the inflated stream
  bool end = false;
  std::string stream_error;    // a gzip failure not reported yet
  std::uint64_t break_at = 0;  // where the inflated stream stops being contiguous because of it
  bool resync = false;         // after an error: skip anything up to the next version line
  std::size_t seen = 0;
  std::size_t skipped = 0;
  std::uint64_t file_bytes_read = 0;  // of the file as stored (compressed or not)

  ~Impl() {
    if (file != nullptr) std::fclose(file);
  }

  // Makes at least `want` bytes available from `at` unless the stream ends first; returns how many are.
  std::size_t fill(std::size_t want) {
    while (buffer.size() - at < want && !end) {
      if (at > 0 && at >= buffer.size() / 2) {
        buffer.erase(0, at);
        at = 0;
      }
      if (!inflater || inflater->needs_input()) {
        const std::size_t n = std::fread(raw.data(), 1, raw.size(), file);
        file_bytes_read += n;
        if (n == 0) {
          end = true;
          if (std::ferror(file)) {
            set_stream_error(std::string("read error: ") + std::strerror(errno));
          } else if (inflater && !inflater->between_members()) {
            set_stream_error("truncated gzip data");
          }
          break;
        }
        if (!inflater) {
          buffer.append(raw.data(), n);
          continue;
        }
        inflater->feed(raw.data(), n);
      }
      if (inflater->step(buffer) < 0) set_stream_error("corrupt gzip data: " + inflater->error());
    }
    return buffer.size() - at;
  }

  void set_stream_error(std::string why) {
    if (!stream_error.empty()) return;  // the first one until it is reported
    stream_error = std::move(why);
    break_at = offset + (buffer.size() - at);
  }
  // Whether what was consumed reaches the break (and so the current record may be cut or spliced).
  bool reached_break() const { return !stream_error.empty() && offset >= break_at; }
  bool crossed_break() const { return !stream_error.empty() && offset > break_at; }

  void consume(std::size_t n) {
    at += n;
    offset += n;
  }

  // A line without its end of line; over-long lines are cut (the rest is consumed). False at the end.
  bool read_line(std::string& line) {
    line.clear();
    bool any = false;
    while (fill(1) > 0) {
      any = true;
      const std::size_t newline = buffer.find('\n', at);
      const std::size_t stop = newline == std::string::npos ? buffer.size() : newline + 1;
      line.append(buffer, at, std::min(stop - at, kMaxLine - std::min(kMaxLine, line.size())));
      consume(stop - at);
      if (newline != std::string::npos) break;
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return any;
  }

  // Moves up to `n` bytes to `out` (or drops them when `out` is null), a chunk at a time; returns how many.
  std::uint64_t take(std::uint64_t n, std::string* out) {
    std::uint64_t done = 0;
    while (done < n) {
      const std::size_t available = fill(static_cast<std::size_t>(std::min<std::uint64_t>(n - done, kChunk)));
      if (available == 0) break;
      const std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(available, n - done));
      if (out != nullptr) out->append(buffer, at, piece);
      consume(piece);
      done += piece;
    }
    return done;
  }

  std::string where(std::uint64_t at_offset) const {
    return "WARC record at offset " + std::to_string(at_offset) + (inflater ? " (of the inflated stream)" : "");
  }

  // Counts the record as skipped and resynchronises; a gzip failure it ran into is the better explanation.
  runtime::Status malformed(std::uint64_t record_offset, const std::string& why) {
    ++skipped;
    resync = true;
    if (reached_break()) return runtime::Status::error(where(record_offset) + ": " + std::exchange(stream_error, ""));
    return runtime::Status::error(where(record_offset) + ": " + why);
  }
};

WarcReader::WarcReader() = default;
WarcReader::~WarcReader() = default;

runtime::Status WarcReader::open(const std::filesystem::path& path, std::size_t max_record_bytes) {
  impl_ = std::make_unique<Impl>();
  impl_->max_record_bytes = max_record_bytes;
  impl_->file = std::fopen(path.c_str(), "rbe");
  if (impl_->file == nullptr)
    return runtime::Status::error("cannot open " + path.string() + ": " + std::strerror(errno));
  const std::size_t n = std::fread(impl_->raw.data(), 1, impl_->raw.size(), impl_->file);
  impl_->file_bytes_read = n;
  if (n >= 2 && impl_->raw[0] == '\x1f' && impl_->raw[1] == '\x8b') {
    impl_->inflater.emplace(15 + 32);
    impl_->inflater->feed(impl_->raw.data(), n);
  } else {
    impl_->buffer.assign(impl_->raw.data(), n);
  }
  return {};
}

runtime::Result<bool> WarcReader::next(WarcResponse& out) {
  if (!impl_ || impl_->file == nullptr) return runtime::Status::error("WARC reader not open");
  Impl& r = *impl_;
  std::string line;
  for (;;) {
    if (r.reached_break()) return r.malformed(r.break_at, "");
    // Blank lines end every record; after an error, anything up to the next version line is debris.
    std::uint64_t record_offset = r.offset;
    bool found = false;
    while (r.read_line(line)) {
      if (r.reached_break()) return r.malformed(record_offset, "");
      if (is_version_line(line)) {
        found = true;
        break;
      }
      if (!r.resync && !trim(line, kHeaderSpace).empty()) return r.malformed(record_offset, "no WARC version line");
      record_offset = r.offset;
    }
    if (!found && r.reached_break()) return r.malformed(record_offset, "");  // a truncated gzip file
    if (!found) return false;
    r.resync = false;
    ++r.seen;
    Headers headers;
    std::size_t header_bytes = 0;
    bool complete = false;
    while (header_bytes <= kMaxHeaderBytes && r.read_line(line)) {
      header_bytes += line.size() + 2;
      if (line.empty()) {
        complete = true;
        break;
      }
      if (r.fill(1) == 0) break;  // the file ends inside the header
      if (!add_header_line(headers, line)) return r.malformed(record_offset, "bad header line");
    }
    if (!complete || r.reached_break()) {
      return r.malformed(record_offset, r.end ? "truncated record" : "header too long");
    }
    const std::string length_text = header(headers, "Content-Length");
    if (length_text.empty() || length_text.size() > 15 ||
        length_text.find_first_not_of("0123456789") != std::string::npos) {
      return r.malformed(record_offset, "no valid Content-Length");
    }
    const std::uint64_t length = std::stoull(length_text);
    const bool response = iequals(header(headers, "WARC-Type"), "response");
    if (!response || length > r.max_record_bytes) {
      if (response) ++r.skipped;
      if (r.take(length, nullptr) < length || r.crossed_break()) {
        return r.malformed(record_offset, "truncated record");
      }
      continue;
    }
    std::string block;
    block.reserve(static_cast<std::size_t>(length));  // at most max_record_bytes
    if (r.take(length, &block) < length || r.crossed_break()) {
      return r.malformed(record_offset, "truncated record");
    }
    if (!block.starts_with("HTTP/")) continue;  // a response of another protocol (dns:, ftp:): not a page
    out = WarcResponse{};
    if (auto status = parse_http_response(block, r.max_record_bytes, out); !status.ok()) {
      ++r.skipped;  // framing is intact: the next record is read normally
      return runtime::Status::error("WARC record at offset " + std::to_string(record_offset) + ": " + status.message());
    }
    std::string target = header(headers, "WARC-Target-URI");
    if (target.size() >= 2 && target.front() == '<' && target.back() == '>')
      target = target.substr(1, target.size() - 2);
    out.target_uri = std::move(target);
    out.warc_date = header(headers, "WARC-Date");
    out.record_id = header(headers, "WARC-Record-ID");
    return true;
  }
}

std::size_t WarcReader::records_seen() const { return impl_ ? impl_->seen : 0; }
std::size_t WarcReader::records_skipped() const { return impl_ ? impl_->skipped : 0; }
std::uint64_t WarcReader::file_bytes_read() const { return impl_ ? impl_->file_bytes_read : 0; }

}  // namespace vnawire::fetch
