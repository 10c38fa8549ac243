// The outbox journal: records of 20-byte header ("VWOB", type, body length, XXH3-64 of the body seeded by the type)
// and a body; A adds a document, S records a new send of it, D finishes it.
#include "stages/runtime/outbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace vnawire::runtime {
namespace {

constexpr char kMagic[4] = {'V', 'W', 'O', 'B'};
constexpr std::size_t kHeaderBytes = 20;
constexpr std::uint32_t kLargestBody = 1u << 30;
constexpr std::size_t kAddFixed = 8 + 4 + 8 + 8 + 8 + 4 + 4 + 4;
// A journal larger than this whose live payloads are under a quarter of it is rewritten at commit.
constexpr std::uint64_t kCompactBytes = std::uint64_t{16} << 20;

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
bool get(std::string_view& in, T& value) {
  if (in.size() < sizeof value) return false;
  std::memcpy(&value, in.data(), sizeof value);
  in.remove_prefix(sizeof value);
  return true;
}

// The record's type is the seed, so that a body read under another type does not check out.
std::uint64_t checksum(char type, std::string_view body) {
  return XXH3_64bits_withSeed(body.data(), body.size(), static_cast<unsigned char>(type));
}

bool read_at(int fd, std::uint64_t offset, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

Status io_error(const std::string& what, const std::filesystem::path& path) {
  return Status::error(what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

Outbox::~Outbox() {
  if (fd_ >= 0) {
    (void)commit();
    ::close(fd_);
  }
}

void Outbox::append_record(char type, const std::string& body) {
  buffer_.append(kMagic, sizeof kMagic);
  buffer_.push_back(type);
  buffer_.append(3, '\0');
  put(buffer_, static_cast<std::uint32_t>(body.size()));
  put(buffer_, checksum(type, body));
  buffer_ += body;
}

void Outbox::append_add(std::uint64_t seq, const Entry& entry, std::string_view payload) {
  std::string body;
  body.reserve(kAddFixed + entry.trace.size() + entry.id.size() + payload.size());
  put(body, seq);
  put(body, entry.attempt);
  put(body, entry.root);
  put(body, entry.first_ms);
  put(body, entry.sent_ms);
  put(body, static_cast<std::uint32_t>(entry.trace.size()));
  put(body, static_cast<std::uint32_t>(entry.id.size()));
  put(body, static_cast<std::uint32_t>(payload.size()));
  body += entry.trace;
  body += entry.id;
  body += payload;
  append_record('A', body);
}

std::uint64_t Outbox::add(std::string_view id, std::string_view trace, std::uint32_t attempt, std::string_view payload,
                          std::uint64_t root, std::int64_t now_ms) {
  const std::uint64_t seq = next_seq_++;
  Entry entry{std::string(id),
              std::string(trace),
              attempt,
              root,
              now_ms,
              now_ms,
              0,
              static_cast<std::uint32_t>(payload.size())};
  const std::uint64_t record_at = file_bytes_ + buffer_.size();
  entry.offset = record_at + kHeaderBytes + kAddFixed + entry.trace.size() + entry.id.size();
  append_add(seq, entry, payload);
  live_bytes_ += payload.size();
  by_root_[root] = seq;
  entries_.emplace(seq, std::move(entry));
  return seq;
}

void Outbox::resent(std::uint64_t seq, std::uint64_t root, std::uint32_t attempt, std::int64_t now_ms) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) return;
  by_root_.erase(it->second.root);
  it->second.root = root;
  it->second.attempt = attempt;
  it->second.sent_ms = now_ms;
  by_root_[root] = seq;
  std::string body;
  put(body, seq);
  put(body, attempt);
  put(body, root);
  put(body, now_ms);
  append_record('S', body);
}

bool Outbox::done(std::uint64_t seq) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) return false;
  by_root_.erase(it->second.root);
  live_bytes_ -= it->second.length;
  entries_.erase(it);
  std::string body;
  put(body, seq);
  append_record('D', body);
  return true;
}

const Outbox::Entry* Outbox::find_root(std::uint64_t root, std::uint64_t* seq) const {
  auto it = by_root_.find(root);
  if (it == by_root_.end()) return nullptr;
  if (seq != nullptr) *seq = it->second;
  return find(it->second);
}

const Outbox::Entry* Outbox::find(std::uint64_t seq) const {
  auto it = entries_.find(seq);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::uint64_t> Outbox::due(std::int64_t now_ms, std::int64_t timeout_ms, std::size_t limit,
                                       bool backoff) const {
  std::vector<std::uint64_t> seqs;
  for (const auto& [seq, entry] : entries_) {
    if (seqs.size() >= limit) break;
    const std::int64_t wait = backoff ? timeout_ms << std::min<std::uint32_t>(entry.attempt, 4) : timeout_ms;
    if (now_ms - entry.sent_ms >= wait) seqs.push_back(seq);
  }
  return seqs;
}

Result<std::string> Outbox::payload(std::uint64_t seq) {
  const Entry* entry = find(seq);
  if (entry == nullptr) return Status::error("no such entry");
  std::string data(entry->length, '\0');
  if (entry->offset >= file_bytes_) {
    const std::uint64_t at = entry->offset - file_bytes_;
    if (at + entry->length > buffer_.size()) return Status::error("the payload is outside the journal");
    data.assign(buffer_, at, entry->length);
    return data;
  }
  if (!read_at(fd_, entry->offset, data.data(), data.size())) return io_error("cannot read", path_);
  return data;
}

Status Outbox::commit() {
  if (fd_ < 0) return Status::error("the outbox is not open");
  if (entries_.empty() && file_bytes_ + buffer_.size() > (std::uint64_t{1} << 20)) {
    // Everything finished: the journal starts again empty (the common case once acknowledgements flow).
    buffer_.clear();
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return io_error("cannot truncate", path_);
    file_bytes_ = 0;
    live_bytes_ = 0;
    if (::fdatasync(fd_) != 0) return io_error("cannot sync", path_);
    return {};
  }
  if (!buffer_.empty()) {
    if (!write_all(fd_, buffer_.data(), buffer_.size())) {
      // A partial record at the end is cut at the next start; the file position is put back so that the
      // next commit writes whole records after the last whole one.
      const Status failed = io_error("cannot write", path_);
      (void)::ftruncate(fd_, static_cast<off_t>(file_bytes_));
      (void)::lseek(fd_, static_cast<off_t>(file_bytes_), SEEK_SET);
      return failed;
    }
    file_bytes_ += buffer_.size();
    buffer_.clear();
    if (::fdatasync(fd_) != 0) return io_error("cannot sync", path_);
  }
  if (file_bytes_ > kCompactBytes && live_bytes_ * 4 < file_bytes_) {
    std::filesystem::path fresh = path_;
    fresh += ".new";
    return rewrite(fresh);
  }
  return {};
}

// Writes the live entries to `target`, synced, and puts it in place of the journal.
Status Outbox::rewrite(const std::filesystem::path& target) {
  std::map<std::uint64_t, Entry> moved;
  buffer_.clear();
  file_bytes_ = 0;
  std::string payloads_failed;
  for (auto& [seq, entry] : entries_) {
    std::string data(entry.length, '\0');
    if (!read_at(fd_, entry.offset, data.data(), data.size())) return io_error("cannot read", path_);
    Entry copy = entry;
    copy.offset = buffer_.size() + kHeaderBytes + kAddFixed + copy.trace.size() + copy.id.size();
    append_add(seq, copy, data);
    moved.emplace(seq, std::move(copy));
  }
  const int fd = ::open(target.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", target);
  if (!write_all(fd, buffer_.data(), buffer_.size()) || ::fdatasync(fd) != 0) {
    const Status failed = io_error("cannot write", target);
    ::close(fd);
    return failed;
  }
  std::error_code ec;
  std::filesystem::rename(target, path_, ec);
  if (ec) {
    ::close(fd);
    return Status::error("cannot replace " + path_.string() + ": " + ec.message());
  }
  ::close(fd_);
  fd_ = fd;
  file_bytes_ = buffer_.size();
  buffer_.clear();
  entries_ = std::move(moved);
  return {};
}

// The offset of the next "VWOB" at or after `from`, or `size`.
std::uint64_t Outbox::next_magic(std::uint64_t from, std::uint64_t size) const {
  std::string chunk(std::size_t{1} << 16, '\0');
  while (from < size) {
    const std::size_t length = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - from));
    if (!read_at(fd_, from, chunk.data(), length)) return size;
    const std::string_view view(chunk.data(), length);
    const std::size_t found = view.find(std::string_view(kMagic, sizeof kMagic));
    if (found != std::string_view::npos) return from + found;
    // A magic cut by the chunk's end is found by the next chunk, which starts 3 bytes back.
    if (length < sizeof kMagic) return size;
    from += length - (sizeof kMagic - 1);
  }
  return size;
}

// Reads every whole record; returns false when some were damaged (described in `problems`).
bool Outbox::load(std::string& problems) {
  struct stat info {};
  if (::fstat(fd_, &info) != 0) return false;
  const auto size = static_cast<std::uint64_t>(info.st_size);
  std::uint64_t at = 0, skipped = 0, damaged_at = 0;
  std::string body;
  char header[kHeaderBytes];
  auto whole_record_at = [&](std::uint64_t offset, char& type, std::uint32_t& length) {
    if (offset + kHeaderBytes > size || !read_at(fd_, offset, header, kHeaderBytes)) return false;
    if (std::memcmp(header, kMagic, sizeof kMagic) != 0) return false;
    type = header[4];
    if (type != 'A' && type != 'S' && type != 'D') return false;
    std::memcpy(&length, header + 8, sizeof length);
    std::uint64_t sum = 0;
    std::memcpy(&sum, header + 12, sizeof sum);
    if (length > kLargestBody || offset + kHeaderBytes + length > size) return false;
    body.resize(length);
    if (!read_at(fd_, offset + kHeaderBytes, body.data(), length)) return false;
    return checksum(type, body) == sum;
  };
  while (at < size) {
    char type = 0;
    std::uint32_t length = 0;
    if (!whole_record_at(at, type, length)) {
      if (skipped == 0) damaged_at = at;
      const std::uint64_t next = next_magic(at + 1, size);
      skipped += next - at;
      at = next;  // the next record that may be whole
      continue;
    }
    std::string_view in(body);
    std::uint64_t seq = 0;
    (void)get(in, seq);
    if (type == 'A') {
      Entry entry;
      std::uint32_t trace_size = 0, id_size = 0;
      (void)(get(in, entry.attempt) && get(in, entry.root) && get(in, entry.first_ms) && get(in, entry.sent_ms) &&
             get(in, trace_size) && get(in, id_size) && get(in, entry.length));
      if (in.size() == std::uint64_t{trace_size} + id_size + entry.length) {
        entry.trace.assign(in.substr(0, trace_size));
        entry.id.assign(in.substr(trace_size, id_size));
        entry.offset = at + kHeaderBytes + kAddFixed + trace_size + id_size;
        live_bytes_ += entry.length;
        if (auto old = entries_.find(seq); old != entries_.end()) {
          live_bytes_ -= old->second.length;
          by_root_.erase(old->second.root);
        }
        by_root_[entry.root] = seq;
        entries_[seq] = std::move(entry);
      }
    } else if (type == 'S') {
      std::uint32_t attempt = 0;
      std::uint64_t root = 0;
      std::int64_t sent = 0;
      if (get(in, attempt) && get(in, root) && get(in, sent)) {
        if (auto it = entries_.find(seq); it != entries_.end()) {
          by_root_.erase(it->second.root);
          it->second.attempt = attempt;
          it->second.root = root;
          it->second.sent_ms = sent;
          by_root_[root] = seq;
        }
      }
    } else if (auto it = entries_.find(seq); it != entries_.end()) {
      by_root_.erase(it->second.root);
      live_bytes_ -= it->second.length;
      entries_.erase(it);
    }
    next_seq_ = std::max(next_seq_, seq + 1);
    at += kHeaderBytes + length;
  }
  file_bytes_ = size;
  if (skipped == 0) return true;
  problems = std::to_string(skipped) + " damaged byte(s) from offset " + std::to_string(damaged_at) +
             " skipped (documents recorded there, if any, are not sent again)";
  return false;
}

Status Outbox::open(const std::filesystem::path& file) {
  path_ = file;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return Status::error("cannot create " + file.parent_path().string() + ": " + ec.message());
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return io_error("cannot open", file);
  std::string problems;
  if (load(problems)) return {};
  // Kept for inspection; the journal goes on with the whole records only.
  std::filesystem::path damaged = file;
  damaged += ".damaged";
  std::filesystem::copy_file(file, damaged, std::filesystem::copy_options::overwrite_existing, ec);
  set_aside_ = problems + "; the journal was copied to " + damaged.string() + " and rewritten";
  std::filesystem::path fresh = file;
  fresh += ".new";
  return rewrite(fresh);
}

}  // namespace vnawire::runtime
