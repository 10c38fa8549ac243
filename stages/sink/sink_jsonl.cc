// The JSON Lines sink: one record per line, appended to the active file; rotated by size or age into
// a file of its own (an atomic rename, so a reader never sees a rotated file half written), optionally
// gzip-compressed on another thread. fsync policy: at each flush, at rotation only, or never. A replay
// (same id, same body) of one of the latest records is recognised by its key (sink_written_keys.h) and not
// written again.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <future>
#include <vector>

#include <spdlog/spdlog.h>

#include "stages/runtime/codec.h"
#include "stages/sink/sink_stages.h"
#include "stages/sink/sink_written_keys.h"

namespace vnawire::sink {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;

enum class SyncPolicy { Flush, Rotation, Never };

// Makes a rename or a creation in `directory` durable.
bool sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Compresses `file` into `file`.gz (written as .gz.tmp, synced, renamed), then removes `file`.
runtime::Status gzip_file(const std::filesystem::path& file) {
  std::filesystem::path temporary = file;
  temporary += ".gz.tmp";
  std::filesystem::path target = file;
  target += ".gz";
  std::FILE* in = std::fopen(file.c_str(), "rbe");
  if (in == nullptr) return runtime::Status::error("cannot read " + file.string() + ": " + std::strerror(errno));
  gzFile out = gzopen(temporary.c_str(), "wb6");
  if (out == nullptr) {
    std::fclose(in);
    return runtime::Status::error("cannot write " + temporary.string());
  }
  std::vector<char> buffer(1 << 16);
  bool ok = true;
  std::size_t n = 0;
  while (ok && (n = std::fread(buffer.data(), 1, buffer.size(), in)) > 0) {
    ok = gzwrite(out, buffer.data(), static_cast<unsigned>(n)) == static_cast<int>(n);
  }
  ok = ok && std::ferror(in) == 0;
  std::fclose(in);
  ok = gzclose(out) == Z_OK && ok;
  if (ok) {
    const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
    ok = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
  }
  std::error_code ec;
  if (ok) std::filesystem::rename(temporary, target, ec);
  if (!ok || ec) {
    std::filesystem::remove(temporary, ec);
    return runtime::Status::error("cannot compress " + file.string());
  }
  (void)sync_directory(file.parent_path());
  std::filesystem::remove(file, ec);
  return {};
}

class JsonlSink final : public runtime::Stage {
 public:
  explicit JsonlSink(const runtime::StageContext& context) : context_(context) {}
  ~JsonlSink() override {
    if (file_ != nullptr) std::fclose(file_);
    if (compressing_.valid()) compressing_.wait();
  }

  runtime::Status start() override {
    std::string name = context_.options->get_string("path");
    // Replicas of one sink each write their own file, so lines never interleave.
    if (context_.replica > 0) name += "." + std::to_string(context_.replica);
    path_ = context_.resolve(name);
    const std::string& policy = context_.options->get_string("fsync");
    sync_ = policy == "flush" ? SyncPolicy::Flush : policy == "rotation" ? SyncPolicy::Rotation : SyncPolicy::Never;
    rotate_bytes_ = static_cast<std::uint64_t>(context_.options->get_int("rotate_bytes"));
    rotate_seconds_ = context_.options->get_int("rotate_seconds");
    gzip_ = context_.options->get_bool("gzip");
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (gzip_) compress_leftovers();
    if (const auto remember = context_.options->get_int("replay_memory"); remember > 0) {
      std::filesystem::path keys_path = path_;
      keys_path += ".keys";
      const auto warn = [this](const std::string& what) {
        context_.log->warn("{}", what);
        context_.counters->add("damaged_set_aside");
      };
      if (runtime::Status status = keys_.open(keys_path, path_, static_cast<std::size_t>(remember), warn);
          !status.ok()) {
        return status;
      }
      check_replays_ = true;
    }
    return open_active();
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    WrittenKeys::Key key;
    if (check_replays_) {
      key = WrittenKeys::key_of_record(document.header.id, document.record);
      if (keys_.contains(key)) {
        context_.counters->add("replays_skipped");
        return runtime::Verdict::forward();  // stored already: acknowledged again, not written twice
      }
    }
    std::string line = runtime::record_text(document);
    line.push_back('\n');
    if (bytes_ > 0 && (due_by_age() || (rotate_bytes_ > 0 && bytes_ + line.size() > rotate_bytes_))) {
      if (runtime::Status status = rotate(); !status.ok()) return runtime::Verdict::retry(status.message());
    }
    if (file_ == nullptr) {
      if (runtime::Status status = open_active(); !status.ok()) return runtime::Verdict::retry(status.message());
    }
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) {
      return runtime::Verdict::retry(std::string("write failed: ") + std::strerror(errno));
    }
    if (bytes_ == 0) first_line_at_ = std::chrono::steady_clock::now();
    bytes_ += line.size();
    if (check_replays_) keys_.add(key, bytes_);
    context_.counters->add("stored");
    return runtime::Verdict::forward();
  }

  runtime::Status flush() override {
    if (file_ == nullptr) return open_active();
    if (bytes_ > 0 && due_by_age()) return rotate();
    if (std::fflush(file_) != 0) return runtime::Status::error("cannot write " + path_.string());
    if (sync_ == SyncPolicy::Flush && ::fdatasync(fileno(file_)) != 0) {
      return runtime::Status::error("cannot sync " + path_.string() + ": " + std::strerror(errno));
    }
    // The keys after the lines they name: a key on the disk before its line would skip a replay of a
    // record that was never stored.
    return keys_.flush(sync_ == SyncPolicy::Flush);
  }

 private:
  const runtime::StageContext& context_;
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::uint64_t bytes_ = 0;  // in the active file
  std::chrono::steady_clock::time_point first_line_at_{};
  SyncPolicy sync_ = SyncPolicy::Flush;
  std::uint64_t rotate_bytes_ = 0;   // 0: never by size
  std::int64_t rotate_seconds_ = 0;  // 0: never by age
  bool gzip_ = false;
  std::future<runtime::Status> compressing_;
  bool check_replays_ = false;
  WrittenKeys keys_;

  bool due_by_age() const {
    return rotate_seconds_ > 0 &&
           std::chrono::steady_clock::now() - first_line_at_ >= std::chrono::seconds(rotate_seconds_);
  }

  runtime::Status open_active() {
    file_ = std::fopen(path_.c_str(), "ae");
    if (file_ == nullptr) return runtime::Status::error("cannot open " + path_.string() + ": " + std::strerror(errno));
    std::error_code ec;
    bytes_ = std::filesystem::file_size(path_, ec);
    if (ec) bytes_ = 0;
    // Lines left by an earlier run count from now: their age is not known.
    first_line_at_ = std::chrono::steady_clock::now();
    return {};
  }

  // <path>-YYYYMMDDTHHMMSSZ-N: the first N whose plain and compressed names are both free.
  std::filesystem::path rotated_name() const {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
    for (int n = 1;; ++n) {
      std::filesystem::path name = path_;
      name += std::string("-") + stamp + "-" + std::to_string(n);
      std::filesystem::path compressed = name;
      compressed += ".gz";
      if (!std::filesystem::exists(name) && !std::filesystem::exists(compressed)) return name;
    }
  }

  // Closes the active file under its rotated name and starts a new one.
  runtime::Status rotate() {
    if (std::fflush(file_) != 0) return runtime::Status::error("cannot write " + path_.string());
    if (sync_ != SyncPolicy::Never && ::fdatasync(fileno(file_)) != 0) {
      return runtime::Status::error("cannot sync " + path_.string() + ": " + std::strerror(errno));
    }
    // The marker before the rename: after a crash between the two, the file is keyed again from its
    // start (its keys are already there), never past its end.
    keys_.rotated();
    if (runtime::Status status = keys_.flush(sync_ != SyncPolicy::Never); !status.ok()) return status;
    const std::filesystem::path rotated = rotated_name();
    std::error_code ec;
    std::filesystem::rename(path_, rotated, ec);
    if (ec) return runtime::Status::error("cannot rotate " + path_.string() + ": " + ec.message());
    std::fclose(file_);
    file_ = nullptr;
    bytes_ = 0;
    if (sync_ != SyncPolicy::Never) (void)sync_directory(path_.parent_path());
    context_.counters->add("rotated");
    if (gzip_) {
      // One compression at a time: the previous one has had a whole file's time to finish.
      if (compressing_.valid()) log_compression(compressing_.get());
      compressing_ = std::async(std::launch::async, [rotated] { return gzip_file(rotated); });
    }
    return open_active();
  }

  // The rotated file stays uncompressed (the next start tries again): said in the log and a counter.
  void log_compression(const runtime::Status& status) {
    if (status.ok()) return;
    context_.log->error("{}", status.message());
    context_.counters->add("compress_failed");
  }

  // Rotated files a crash left uncompressed, and half-written .gz.tmp files.
  void compress_leftovers() {
    const std::string prefix = path_.filename().string() + "-";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path_.parent_path(), ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with(prefix)) continue;
      if (name.ends_with(".gz.tmp")) {
        std::filesystem::remove(entry.path(), ec);
      } else if (!name.ends_with(".gz")) {
        log_compression(gzip_file(entry.path()));
      }
    }
  }
};

}  // namespace

const runtime::StageDescriptor& jsonl_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "sink_jsonl",
      "Sink: appends each record as one JSON line to a file (replica N > 0 writes <path>.N), rotated by size or "
      "age into <path>-<UTC time>-<n>, optionally gzip-compressed.",
      runtime::StageRole::Sink,
      16,
      {
          OptionSpec{"path", OptionType::String, std::string("documents.jsonl"),
                     "The active file (relative paths are under state_dir)."},
          OptionSpec{"fsync",
                     OptionType::String,
                     std::string("flush"),
                     "When the file is synced to disk: at each flush and rotation, at rotation only, or never "
                     "(the kernel writes it back).",
                     false,
                     std::nullopt,
                     std::nullopt,
                     {"flush", "rotation", "never"}},
          OptionSpec{"rotate_bytes", OptionType::Int, std::int64_t{0},
                     "Rotate before a line would take the active file past this size; 0: never by size.", false, 0.0,
                     1e15},
          OptionSpec{"rotate_seconds", OptionType::Int, std::int64_t{0},
                     "Rotate once the active file's first line is this old (checked at each line and flush); 0: "
                     "never by age.",
                     false, 0.0, 1e9},
          OptionSpec{"replay_memory", OptionType::Int, std::int64_t{100000},
                     "How many of the latest records are remembered (their id and body, in <path>.keys) so that a "
                     "replay of one is acknowledged without a second line; 0: every record is written.",
                     false, 0.0, 1e8},
          OptionSpec{"gzip", OptionType::Bool, false,
                     "Compress rotated files to <name>.gz on another thread (leftovers of a crash at the next start)."},
      },
      [](const runtime::StageContext& context) { return std::make_unique<JsonlSink>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::sink
