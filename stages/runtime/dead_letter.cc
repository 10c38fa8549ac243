// Dead-letter records: appended, checksummed and synced one by one, since they are rare and must survive a crash.
#include "stages/runtime/dead_letter.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#define XXH_INLINE_ALL  // header only: the SDK that builds this file in links no xxhash
#include <xxhash.h>

#include "stages/runtime/codec.h"
#include "stages/runtime/json_dump.h"

namespace vnawire::runtime {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Holds flock() on a descriptor: `vnawire dead-letters` rewrites a file under the same lock.
struct FileLock {
  int fd;
  explicit FileLock(int descriptor) : fd(descriptor) { (void)::flock(fd, LOCK_EX); }
  ~FileLock() { (void)::flock(fd, LOCK_UN); }
};

// Moves an unterminated last line to `<path>.damaged`; returns what it did ("" when nothing was cut short).
Result<std::string> set_aside_fragment(int fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::error("cannot stat " + path.string() + ": " + errno_text());
  if (st.st_size == 0) return std::string();
  char last = 0;
  if (::pread(fd, &last, 1, st.st_size - 1) != 1) return Status::error("cannot read " + path.string());
  if (last == '\n') return std::string();
  // Find where the fragment starts: after the last newline, reading backwards in blocks.
  off_t start = 0;
  char block[4096];
  for (off_t end = st.st_size; end > 0 && start == 0;) {
    const off_t from = end > static_cast<off_t>(sizeof block) ? end - static_cast<off_t>(sizeof block) : 0;
    const ssize_t got = ::pread(fd, block, static_cast<std::size_t>(end - from), from);
    if (got != end - from) return Status::error("cannot read " + path.string());
    for (ssize_t i = got - 1; i >= 0; --i) {
      if (block[i] == '\n') {
        start = from + i + 1;
        break;
      }
    }
    end = from;
  }
  std::string fragment(static_cast<std::size_t>(st.st_size - start), '\0');
  if (::pread(fd, fragment.data(), fragment.size(), start) != static_cast<ssize_t>(fragment.size())) {
    return Status::error("cannot read " + path.string());
  }
  const auto damaged = std::filesystem::path(path.string() + ".damaged");
  std::ofstream out(damaged, std::ios::app | std::ios::binary);
  out << fragment << '\n';
  out.flush();
  if (!out) return Status::error("cannot write " + damaged.string());
  if (::ftruncate(fd, start) != 0) return Status::error("cannot truncate " + path.string() + ": " + errno_text());
  (void)::fdatasync(fd);
  const auto lines = std::count(std::istreambuf_iterator<char>(std::ifstream(path).rdbuf()), {}, '\n');
  return "its last record (line " + std::to_string(lines + 1) + ", " + std::to_string(fragment.size()) +
         " bytes) was cut short; moved it to " + damaged.string();
}

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::string dump(const nlohmann::json& fields) {
  return dump_json(fields);
}

// The frame stored as `name` (text) or `name_base64`.
Result<std::string> frame_of(const nlohmann::json& fields, const std::string& name) {
  if (auto text = fields.find(name); text != fields.end() && text->is_string()) return text->get<std::string>();
  if (auto b64 = fields.find(name + "_base64"); b64 != fields.end() && b64->is_string()) {
    return base64_decode(b64->get_ref<const std::string&>());
  }
  return std::string();
}

Result<DeadLetter> parse_fields(std::string_view line);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

DeadLetterWriter::~DeadLetterWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status DeadLetterWriter::open(const std::filesystem::path& path, std::string stage, int replica) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Status::error("cannot create " + path.parent_path().string() + ": " + ec.message());
  if (file_ != nullptr) std::fclose(file_);
  file_ = std::fopen(path.c_str(), "a+e");
  if (file_ == nullptr) return Status::error("cannot open " + path.string() + ": " + errno_text());
  path_ = path;
  stage_ = std::move(stage);
  replica_ = replica;
  FileLock lock(::fileno(file_));
  auto repaired = set_aside_fragment(::fileno(file_), path_);
  if (!repaired) return Status::error(repaired.error());
  set_aside_ = repaired.value();
  return {};
}

// `vnawire dead-letters purge|replay` replaces the file by a rewritten copy: append to the new one.
Status DeadLetterWriter::reopen_if_replaced() {
  struct stat open_file {
  }, on_disk{};
  if (::fstat(::fileno(file_), &open_file) != 0) return Status::error("cannot stat " + path_.string());
  if (::stat(path_.c_str(), &on_disk) == 0 && on_disk.st_ino == open_file.st_ino &&
      on_disk.st_dev == open_file.st_dev) {
    return {};
  }
  std::FILE* reopened = std::fopen(path_.c_str(), "a+e");
  if (reopened == nullptr) return Status::error("cannot open " + path_.string() + ": " + errno_text());
  std::fclose(file_);
  file_ = reopened;
  return {};
}

Status DeadLetterWriter::write(std::string_view reason, std::string_view id, std::string_view header,
                               std::string_view payload) {
  if (file_ == nullptr) return Status::error("dead-letter file is not open");
  nlohmann::json record;
  record["v"] = kDeadLetterFormat;
  record["time"] = iso_time(now_ms());
  record["stage"] = stage_;
  record["replica"] = replica_;
  record["reason"] = std::string(reason);
  record["id"] = is_valid_utf8(id) ? std::string(id) : std::string();
  record["attempt"] = nullptr;
  if (auto decoded = decode_header(header)) {
    record["attempt"] = decoded->attempt;
    if (id.empty() && is_valid_utf8(decoded->id)) record["id"] = decoded->id;
  }
  if (is_valid_utf8(header)) {
    record["header"] = std::string(header);
  } else {
    record["header_base64"] = base64_encode(header);
  }
  if (is_valid_utf8(payload)) {
    record["payload"] = std::string(payload);
  } else {
    record["payload_base64"] = base64_encode(payload);
  }
  record["checksum"] = dead_letter_checksum(record);
  std::string line = dump(record);
  line.push_back('\n');
  for (int tries = 0; tries < 3; ++tries) {
    const int fd = ::fileno(file_);
    FileLock lock(fd);
    if (auto current = reopen_if_replaced(); !current) return current;
    if (::fileno(file_) != fd) continue;  // replaced: lock the new file instead
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0 ||
        ::fdatasync(fd) != 0) {
      return Status::error("cannot write " + path_.string() + ": " + errno_text());
    }
    return {};
  }
  return Status::error("cannot write " + path_.string() + ": it keeps being replaced");
}

std::string dead_letter_checksum(const nlohmann::json& fields) {
  nlohmann::json rest = fields;
  rest.erase("checksum");
  const std::string canonical = dump(rest);
  return hex64(XXH3_64bits(canonical.data(), canonical.size()));
}

Result<DeadLetter> parse_dead_letter(std::string_view line) {
  try {
    return parse_fields(line);
  } catch (const nlohmann::json::exception& e) {
    return Status::error(std::string("unexpected fields: ") + e.what());
  }
}

namespace {

Result<DeadLetter> parse_fields(std::string_view line) {
  auto fields = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (fields.is_discarded() || !fields.is_object()) return Status::error("not a JSON object");
  DeadLetter letter;
  const auto stored = fields.find("checksum");
  if (stored != fields.end()) {
    letter.key = dead_letter_checksum(fields);
    if (!stored->is_string() || *stored != letter.key) return Status::error("checksum mismatch");
    letter.verified = true;
  } else {
    if (auto v = fields.find("v"); v != fields.end() && !(v->is_number_integer() && *v == 1)) {
      return Status::error("no checksum");
    }
    fields["v"] = 1;  // written before checksums: valid but unverified
    letter.key = hex64(XXH3_64bits(line.data(), line.size()));
  }
  const auto text = [&](const char* name) {
    auto it = fields.find(name);
    return it != fields.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  letter.stage = text("stage");
  letter.id = text("id");
  letter.reason = text("reason");
  if (auto time = fields.find("time"); time != fields.end()) {
    letter.time = time->is_number_integer() ? iso_time(time->get<std::int64_t>()) : text("time");
  }
  auto header = frame_of(fields, "header");
  auto payload = frame_of(fields, "payload");
  if (!header || !payload) return Status::error("bad base64 in the header or payload");
  letter.header = std::move(header.value());
  letter.payload = std::move(payload.value());
  if (auto attempt = fields.find("attempt"); attempt != fields.end() && attempt->is_number_unsigned()) {
    letter.attempt = attempt->get<std::int64_t>();
  } else if (auto decoded = decode_header(letter.header)) {
    letter.attempt = decoded->attempt;
    if (letter.id.empty()) letter.id = decoded->id;
  }
  if (auto replica = fields.find("replica"); replica != fields.end() && replica->is_number_integer()) {
    letter.replica = replica->get<int>();
  }
  letter.fields = std::move(fields);
  return letter;
}

}  // namespace

std::string iso_time(std::int64_t epoch_ms) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(((epoch_ms % 1000) + 1000) % 1000));
  return text;
}

std::string base64_encode(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int value;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+') {
      value = 62;
    } else if (c == '/') {
      value = 63;
    } else if (c == '=') {
      break;
    } else {
      return Status::error("not base64");
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    if (++count == 4) {
      out += static_cast<char>((bits >> 16) & 0xFF);
      out += static_cast<char>((bits >> 8) & 0xFF);
      out += static_cast<char>(bits & 0xFF);
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) return Status::error("not base64");
  if (count == 2) out += static_cast<char>((bits >> 4) & 0xFF);
  if (count == 3) {
    out += static_cast<char>((bits >> 10) & 0xFF);
    out += static_cast<char>((bits >> 2) & 0xFF);
  }
  return out;
}

}  // namespace vnawire::runtime
