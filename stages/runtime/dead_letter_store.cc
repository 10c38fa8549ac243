// Reading and rewriting dead-letter files; a damaged line is reported and skipped, never a reason to stop.
#include "stages/runtime/dead_letter_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vnawire::runtime {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void scan_file(const std::filesystem::path& file, DeadLetterScan& scan) {
  const std::string text = read_all(file);
  std::size_t start = 0, number = 0;
  while (start < text.size()) {
    ++number;
    const std::size_t end = text.find('\n', start);
    const std::string_view line(text.data() + start, (end == std::string::npos ? text.size() : end) - start);
    start = end == std::string::npos ? text.size() : end + 1;
    if (end == std::string::npos) {
      scan.set_aside.push_back(
          {file, number, "the last line is cut short (" + std::to_string(line.size()) + " bytes)"});
      break;
    }
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto letter = parse_dead_letter(line);
    if (!letter) {
      scan.set_aside.push_back({file, number, letter.error(), std::string(line)});
      continue;
    }
    scan.letters.push_back({std::move(letter.value()), file, number, std::string(line)});
  }
}

std::vector<std::filesystem::path> jsonl_files(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Status append(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error("cannot open " + path.string() + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  return ok ? Status() : Status::error("cannot write " + path.string());
}

// Rewrites `file` without the records whose key is in `keys` and without damaged lines, under the writers'
// lock; does nothing when no key matches, unless `for_damage` and some line is damaged.
Status rewrite(const std::filesystem::path& file, const std::set<std::string>& keys,
               const std::filesystem::path& keep_in, bool for_damage, std::size_t& removed,
               std::vector<SetAsideLine>* set_aside = nullptr) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error("cannot open " + file.string() + ": " + std::strerror(errno));
  (void)::flock(fd, LOCK_EX);  // the writer's lock: no record is appended while the file is rewritten
  DeadLetterScan scan;
  scan_file(file, scan);
  std::string kept, taken;
  for (const auto& stored : scan.letters) (keys.count(stored.letter.key) ? taken : kept) += stored.text + "\n";
  Status status;
  if (!taken.empty() || (for_damage && !scan.set_aside.empty())) {
    if (!keep_in.empty() && !taken.empty()) status = append(keep_in / file.filename(), taken);
    if (status && !scan.set_aside.empty()) {
      // Each damaged line after a comment saying why, so nothing read is lost with the rewrite.
      std::string damaged;
      for (const auto& line : scan.set_aside) damaged += "# " + line.to_string() + "\n" + line.text + "\n";
      status = append(std::filesystem::path(file.string() + ".damaged"), damaged);
    }
    if (status) status = write_file_atomically(file, kept);
    if (status) {
      removed += static_cast<std::size_t>(std::count(taken.begin(), taken.end(), '\n'));
      if (set_aside != nullptr) *set_aside = std::move(scan.set_aside);
    }
  }
  (void)::flock(fd, LOCK_UN);
  ::close(fd);
  return status;
}

}  // namespace

DeadLetterScan scan_dead_letters(const std::filesystem::path& file_or_folder) {
  DeadLetterScan scan;
  if (std::filesystem::is_directory(file_or_folder)) {
    for (const auto& file : jsonl_files(file_or_folder)) scan_file(file, scan);
  } else {
    scan_file(file_or_folder, scan);
  }
  return scan;
}

Status write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  const auto temporary = std::filesystem::path(path.string() + ".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error("cannot create " + temporary.string() + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return Status::error("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  // The rename itself is durable once the folder is synced.
  if (const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return {};
}

Result<std::size_t> remove_dead_letters(const std::filesystem::path& folder, const std::set<std::string>& keys,
                                        const std::filesystem::path& keep_in) {
  std::size_t removed = 0;
  for (const auto& file : jsonl_files(folder)) {
    if (auto status = rewrite(file, keys, keep_in, false, removed); !status) return status;
  }
  return removed;
}

Result<std::vector<SetAsideLine>> set_aside_damaged_lines(const std::filesystem::path& file) {
  std::size_t removed = 0;
  std::vector<SetAsideLine> set_aside;
  if (auto status = rewrite(file, {}, {}, true, removed, &set_aside); !status) return status;
  return set_aside;
}

}  // namespace vnawire::runtime
