// A sink's keys file: 32-byte entries {key (16), line end (8), checksum (8)}.
#include "stages/sink/sink_written_keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

namespace vnawire::sink {
namespace {

std::uint64_t checksum(const std::uint64_t (&words)[3]) { return XXH3_64bits(words, sizeof words); }

bool sync_parent(const std::filesystem::path& file) {
  const int fd = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

WrittenKeys::~WrittenKeys() {
  // Entries still pending name lines that may not have reached the disk: the next start keys those
  // lines again from the active file instead.
  if (file_ != nullptr) std::fclose(file_);
}

WrittenKeys::Key WrittenKeys::key_of(std::string_view id, std::string_view body) {
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  XXH3_128bits_update(&state, id.data(), id.size());
  XXH3_128bits_update(&state, "", 1);  // the NUL between them: ("ab", "c") and ("a", "bc") differ
  XXH3_128bits_update(&state, body.data(), body.size());
  const XXH128_hash_t hash = XXH3_128bits_digest(&state);
  Key key{hash.high64, hash.low64};
  if (key == Key{}) key.low = 1;  // 0, 0 is the new-file marker
  return key;
}

bool WrittenKeys::key_of_line(std::string_view line, Key& key) {
  const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
  if (!record.is_object() || !record.contains("id") || !record["id"].is_string()) return false;
  key = key_of_record(record["id"].get_ref<const std::string&>(), record);
  return true;
}

WrittenKeys::Key WrittenKeys::key_of_record(std::string_view id, const nlohmann::json& record) {
  const auto body = record.find("body");
  if (body == record.end()) return key_of(id, "");
  if (body->is_string()) return key_of(id, body->get_ref<const std::string&>());
  return key_of(id, body->dump());
}

runtime::Status WrittenKeys::open(const std::filesystem::path& file, const std::filesystem::path& active,
                                  std::size_t capacity, const std::function<void(const std::string&)>& warn) {
  path_ = file;
  remember_ = capacity;
  // The entries, a suffix of the file's: the last `remember` keys and the markers among them. A suffix
  // keeps the meaning of the rest (entries after the last marker name lines of the active file).
  std::deque<Entry> kept;
  std::size_t keys_kept = 0, read = 0;
  bool damaged = false;
  if (std::ifstream in(file, std::ios::binary); in) {
    Entry entry{};
    while (in.read(reinterpret_cast<char*>(&entry), sizeof entry)) {
      const std::uint64_t words[3] = {entry.key.high, entry.key.low, entry.end};
      if (entry.check != checksum(words)) {
        damaged = true;
        break;
      }
      ++read;
      kept.push_back(entry);
      if (!(entry.key == Key{})) ++keys_kept;
      while (keys_kept > remember_) {
        if (!(kept.front().key == Key{})) --keys_kept;
        kept.pop_front();
      }
    }
    if (!damaged && in.gcount() != 0) damaged = true;  // a last entry cut short
  }
  if (damaged) {
    warn(file.string() + ": an entry after the " + std::to_string(read) +
         "th fails its checksum or is cut short; it and the rest are set aside (a replay of those records "
         "may be written again)");
  }
  std::uint64_t from = 0;  // where the active file's unrecorded lines start
  for (const Entry& entry : kept) {
    from = entry.key == Key{} ? 0 : entry.end;
    if (!(entry.key == Key{})) remember(entry.key);
  }
  if (damaged || read > 2 * kept.size() + 1024) {
    if (runtime::Status status = compact({kept.begin(), kept.end()}); !status.ok()) return status;
  }
  file_ = std::fopen(file.c_str(), "abe");
  if (file_ == nullptr) return runtime::Status::error("cannot open " + file.string() + ": " + std::strerror(errno));
  return active.empty() ? runtime::Status{} : catch_up(active, from, warn);
}

runtime::Status WrittenKeys::compact(const std::vector<Entry>& kept) {
  std::filesystem::path temporary = path_;
  temporary += ".new";
  std::FILE* out = std::fopen(temporary.c_str(), "wbe");
  if (out == nullptr) {
    return runtime::Status::error("cannot write " + temporary.string() + ": " + std::strerror(errno));
  }
  bool ok = kept.empty() || std::fwrite(kept.data(), sizeof(Entry), kept.size(), out) == kept.size();
  ok = std::fflush(out) == 0 && ok && ::fdatasync(fileno(out)) == 0;
  ok = std::fclose(out) == 0 && ok;
  std::error_code ec;
  if (ok) std::filesystem::rename(temporary, path_, ec);
  if (!ok || ec) {
    std::filesystem::remove(temporary, ec);
    return runtime::Status::error("cannot rewrite " + path_.string());
  }
  (void)sync_parent(path_);
  return {};
}

runtime::Status WrittenKeys::catch_up(const std::filesystem::path& active, std::uint64_t from,
                                      const std::function<void(const std::string&)>& warn) {
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(active, ec);
  if (ec) return {};  // no active file yet
  if (from > size) {
    warn(active.string() + " is shorter than " + path_.string() + " says: its lines are keyed again from its start");
    from = 0;
  }
  std::ifstream in(active, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::string tail(size - from, '\0');
  if (!in.read(tail.data(), static_cast<std::streamsize>(tail.size()))) {
    return runtime::Status::error("cannot read " + active.string());
  }
  std::size_t at = 0;
  for (std::size_t end = 0; (end = tail.find('\n', at)) != std::string::npos; at = end + 1) {
    Key key;
    if (key_of_line(std::string_view(tail).substr(at, end - at), key)) add(key, from + end + 1);
  }
  if (at < tail.size()) {
    // The last line was cut short by a crash: the record it began was not acknowledged, and comes again.
    std::filesystem::resize_file(active, from + at, ec);
    if (ec) return runtime::Status::error("cannot remove the cut-short last line of " + active.string());
    warn(active.string() + ": removed a last line cut short (" + std::to_string(tail.size() - at) + " bytes)");
  }
  return flush(true);
}

void WrittenKeys::remember(const Key& key) {
  if (!set_.insert(key).second) return;
  order_.push_back(key);
  while (order_.size() > remember_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

void WrittenKeys::add(const Key& key, std::uint64_t end) {
  remember(key);
  pending_.push_back(Entry{key, end, 0});
}

void WrittenKeys::rotated() { pending_.push_back(Entry{Key{}, 0, 0}); }

runtime::Status WrittenKeys::flush(bool sync) {
  if (file_ == nullptr) return {};
  for (Entry& entry : pending_) {
    const std::uint64_t words[3] = {entry.key.high, entry.key.low, entry.end};
    entry.check = checksum(words);
  }
  const bool written =
      pending_.empty() || std::fwrite(pending_.data(), sizeof(Entry), pending_.size(), file_) == pending_.size();
  if (!written || std::fflush(file_) != 0 || (sync && ::fdatasync(fileno(file_)) != 0)) {
    return runtime::Status::error("cannot write " + path_.string() + ": " + std::strerror(errno));
  }
  pending_.clear();
  return {};
}

}  // namespace vnawire::sink
