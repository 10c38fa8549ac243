// Directory tailing with a small append-only state log ("path<TAB>size:mtime" per emitted version).
#include "stages/fetch/fetch_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>

#include "stages/fetch/fetch_text.h"

namespace vnawire::fetch {
namespace {

std::string version_of(const FileEntry& entry) {
  return std::to_string(entry.size) + ":" + std::to_string(entry.mtime_ns);
}

// "size:mtime" as the state log writes it; nullopt for a damaged one (that file is then sent again).
std::optional<FileVersion> parse_version(const std::string& text) {
  FileVersion version;
  const char* end = text.data() + text.size();
  const auto colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  const auto size = std::from_chars(text.data(), text.data() + colon, version.size);
  const auto mtime = std::from_chars(text.data() + colon + 1, end, version.mtime_ns);
  if (size.ec != std::errc() || size.ptr != text.data() + colon || mtime.ec != std::errc() || mtime.ptr != end) {
    return std::nullopt;
  }
  return version;
}

// The modification time as std::filesystem::last_write_time gives it (file_clock's epoch), so that the
// versions in state logs written before stat() was called directly still match.
std::int64_t mtime_ns_of(const struct stat& info) {
  const std::chrono::sys_time<std::chrono::nanoseconds> modified{std::chrono::seconds(info.st_mtim.tv_sec) +
                                                                 std::chrono::nanoseconds(info.st_mtim.tv_nsec)};
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::file_clock::from_sys(modified).time_since_epoch())
      .count();
}

bool hidden_or_partial(std::string_view name) {
  if (name.empty() || name[0] == '.') return true;
  for (const char* suffix : {"~", ".tmp", ".part", ".swp"}) {
    const std::size_t n = std::strlen(suffix);
    if (name.size() >= n && name.compare(name.size() - n, n, suffix) == 0) return true;
  }
  return false;
}

}  // namespace

std::string content_type_for(const std::filesystem::path& path) {
  const std::string ext = ascii_lowered(path.extension().string());
  if (ext == ".txt" || ext == ".text") return "text/plain";
  if (ext == ".html" || ext == ".htm" || ext == ".xhtml") return "text/html";
  return "";
}

DirectoryTail::~DirectoryTail() {
  if (state_ != nullptr) std::fclose(state_);
}

runtime::Status DirectoryTail::open(Settings settings, const std::filesystem::path& state_file) {
  settings_ = std::move(settings);
  std::error_code ec;
  if (!std::filesystem::is_directory(settings_.directory, ec)) {
    return runtime::Status::error("directory " + settings_.directory.string() + " does not exist");
  }
  std::filesystem::create_directories(state_file.parent_path(), ec);
  {
    std::ifstream in(state_file);
    std::string line;
    while (std::getline(in, line)) {
      auto tab = line.rfind('\t');
      if (tab == std::string::npos) continue;  // a torn last line after a crash: that file is sent again
      if (auto version = parse_version(line.substr(tab + 1))) {
        emitted_[line.substr(0, tab)] = *version;
      } else {
        emitted_.erase(line.substr(0, tab));
      }
    }
  }
  state_ = std::fopen(state_file.c_str(), "ae");
  if (state_ == nullptr) {
    return runtime::Status::error("cannot open " + state_file.string() + ": " + std::strerror(errno));
  }
  state_path_ = state_file;
  return {};
}

// A scan stats each file once (the folder's listing gives names and types), relative to the folder when it
// is not recursive, and compares versions without building strings: a drop folder only grows, and every
// file in it is looked at on every poll.
std::size_t DirectoryTail::scan() {
  std::vector<FileEntry> found;
  const std::int64_t settled_before =
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          (std::filesystem::file_time_type::clock::now() - std::chrono::milliseconds(settings_.settle_ms))
              .time_since_epoch())
          .count();
  auto wanted = [&](std::string_view name) {
    if (hidden_or_partial(name)) return false;
    const auto dot = name.rfind('.');
    const std::string ext = dot == std::string_view::npos ? std::string() : ascii_lowered(name.substr(dot));
    return std::find(settings_.extensions.begin(), settings_.extensions.end(), ext) != settings_.extensions.end();
  };
  auto consider = [&](std::string key, const struct stat& info) {
    if (!S_ISREG(info.st_mode)) return;
    const FileVersion version{static_cast<std::uintmax_t>(info.st_size), mtime_ns_of(info)};
    if (version.mtime_ns > settled_before || busy_paths_.count(key)) return;
    auto previous = emitted_.find(key);
    if (previous != emitted_.end() && previous->second == version) return;
    found.push_back(FileEntry{std::move(key), version.size, version.mtime_ns});
  };
  struct stat info {};
  if (settings_.recursive) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             settings_.directory, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_error;
      if (!it->is_regular_file(type_error) || !wanted(it->path().filename().string())) continue;
      if (::stat(it->path().c_str(), &info) == 0) consider(it->path().string(), info);
    }
  } else if (DIR* folder = ::opendir(settings_.directory.c_str())) {
    const std::string prefix = (settings_.directory / "").string();
    while (const dirent* entry = ::readdir(folder)) {
      if (entry->d_type != DT_REG && entry->d_type != DT_LNK && entry->d_type != DT_UNKNOWN) continue;
      if (!wanted(entry->d_name)) continue;
      if (::fstatat(::dirfd(folder), entry->d_name, &info, 0) == 0) consider(prefix + entry->d_name, info);
    }
    ::closedir(folder);
  }
  // Oldest first, then by name, so that a backlog is sent in the order it was written.
  std::sort(found.begin(), found.end(), [](const FileEntry& a, const FileEntry& b) {
    return a.mtime_ns != b.mtime_ns ? a.mtime_ns < b.mtime_ns : a.path < b.path;
  });
  for (auto& file : found) {
    busy_paths_[file.path.string()] = true;
    queue_.push_back(std::move(file));
  }
  return found.size();
}

FileEntry DirectoryTail::next() {
  FileEntry entry = std::move(queue_.front());
  queue_.pop_front();
  return entry;
}

void DirectoryTail::mark_emitted(const FileEntry& entry) {
  const std::string key = entry.path.string();
  emitted_[key] = FileVersion{entry.size, entry.mtime_ns};
  busy_paths_.erase(key);
  if (state_ != nullptr) std::fprintf(state_, "%s\t%s\n", key.c_str(), version_of(entry).c_str());
}

runtime::Status DirectoryTail::flush() {
  if (state_ == nullptr) return {};
  if (std::fflush(state_) != 0 || ::fdatasync(fileno(state_)) != 0) {
    return runtime::Status::error("cannot write " + state_path_.string() + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace vnawire::fetch
