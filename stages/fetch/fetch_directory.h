// Tails a directory: finds files that are new or changed since the last scan, remembering across restarts.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "stages/runtime/status.h"

namespace vnawire::fetch {

struct FileEntry {
  std::filesystem::path path;
  std::uintmax_t size = 0;
  std::int64_t mtime_ns = 0;
};

// What tells one version of a file from the next.
struct FileVersion {
  std::uintmax_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileVersion&) const = default;
};

class DirectoryTail {
 public:
  struct Settings {
    std::filesystem::path directory;
    std::vector<std::string> extensions;  // lower case, with the dot
    bool recursive = false;
    std::int64_t settle_ms = 300;  // a file must be this old to be taken (it may still be written)
  };

  // `state_file` remembers which versions of which files were emitted.
  runtime::Status open(Settings settings, const std::filesystem::path& state_file);
  // Appends to the queue every settled file not emitted yet; returns how many were queued.
  std::size_t scan();
  bool has_next() const { return !queue_.empty(); }
  FileEntry next();
  // Records that this version of the file was emitted; durable after flush(). Until then the file is
  // in flight and scans do not queue it again.
  void mark_emitted(const FileEntry& entry);
  runtime::Status flush();
  std::size_t queued() const { return queue_.size(); }

 private:
  Settings settings_;
  std::unordered_map<std::string, FileVersion> emitted_;  // path -> the version last emitted
  std::unordered_map<std::string, bool> busy_paths_;      // queued or in flight
  std::deque<FileEntry> queue_;
  std::FILE* state_ = nullptr;
  std::filesystem::path state_path_;

 public:
  ~DirectoryTail();
  DirectoryTail() = default;
  DirectoryTail(const DirectoryTail&) = delete;
  DirectoryTail& operator=(const DirectoryTail&) = delete;
};

// The content type vnawire gives a file by its extension: text/plain, text/html, or empty if not handled.
std::string content_type_for(const std::filesystem::path& path);

}  // namespace vnawire::fetch
