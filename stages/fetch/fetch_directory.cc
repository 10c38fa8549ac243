// Directory tailing with a small append-only state log ("path<TAB>size:mtime" per emitted version).
#include "stages/fetch/fetch_directory.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "stages/fetch/fetch_text.h"

namespace vnawire::fetch {
namespace {

std::string version_of(const FileEntry& entry) {
  return std::to_string(entry.size) + ":" + std::to_string(entry.mtime_ns);
}

bool hidden_or_partial(const std::string& name) {
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
      emitted_[line.substr(0, tab)] = line.substr(tab + 1);
    }
  }
  state_ = std::fopen(state_file.c_str(), "ae");
  if (state_ == nullptr) {
    return runtime::Status::error("cannot open " + state_file.string() + ": " + std::strerror(errno));
  }
  state_path_ = state_file;
  return {};
}

std::size_t DirectoryTail::scan() {
  std::vector<FileEntry> found;
  const auto now = std::filesystem::file_time_type::clock::now();
  const auto settle = std::chrono::milliseconds(settings_.settle_ms);
  auto consider = [&](const std::filesystem::directory_entry& entry) {
    std::error_code ec;
    if (!entry.is_regular_file(ec) || hidden_or_partial(entry.path().filename().string())) return;
    const std::string ext = ascii_lowered(entry.path().extension().string());
    if (std::find(settings_.extensions.begin(), settings_.extensions.end(), ext) == settings_.extensions.end()) return;
    auto mtime = entry.last_write_time(ec);
    if (ec || now - mtime < settle) return;
    auto size = entry.file_size(ec);
    if (ec) return;
    FileEntry file{entry.path(), size,
                   std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count()};
    const std::string key = file.path.string();
    if (busy_paths_.count(key)) return;
    auto previous = emitted_.find(key);
    if (previous != emitted_.end() && previous->second == version_of(file)) return;
    found.push_back(std::move(file));
  };
  std::error_code ec;
  if (settings_.recursive) {
    for (auto it = std::filesystem::recursive_directory_iterator(
             settings_.directory, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      consider(*it);
    }
  } else {
    for (auto it = std::filesystem::directory_iterator(settings_.directory, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      consider(*it);
    }
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
  const std::string version = version_of(entry);
  emitted_[key] = version;
  busy_paths_.erase(key);
  if (state_ != nullptr) std::fprintf(state_, "%s\t%s\n", key.c_str(), version.c_str());
}

runtime::Status DirectoryTail::flush() {
  if (state_ == nullptr) return {};
  if (std::fflush(state_) != 0 || ::fdatasync(fileno(state_)) != 0) {
    return runtime::Status::error("cannot write " + state_path_.string() + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace vnawire::fetch
