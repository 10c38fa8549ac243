// Test harness for integration tests: temporary folders, real vnawire child processes, waiting on files.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace vnawire::testing {

// How much slower than a Release build this one runs (3 under AddressSanitizer, 5 under ThreadSanitizer: see
// scripts/test-sanitized). Tests whose pipeline options are timings (acknowledgement timeouts, source rates) scale
// them, so that a slower build meets the same conditions rather than a different race.
inline constexpr int kTimeScale = VNAWIRE_TEST_TIME_SCALE;

// The vnawire binary of this build, which the tests start.
inline constexpr const char* kBinary = VNAWIRE_BINARY;

// A fresh folder under /tmp, removed when the object goes (kept when VNAWIRE_KEEP_TEST_DIRS is set).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A vnawire child process with its stdout and stderr captured to files.
class Process {
 public:
  Process(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
          const std::string& stdin_text = "");
  ~Process();
  pid_t pid() const { return pid_; }
  void signal(int signal) const;
  // Waits for the exit; returns the exit code, or 128+signal, or -1 on timeout (the process is then killed).
  int wait(std::chrono::milliseconds timeout);
  // Whether the process is still running after `duration` (it is left running).
  bool still_running_after(std::chrono::milliseconds duration);
  std::string output() const;  // stdout so far
  std::string errors() const;  // stderr so far

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::filesystem::path out_, err_;
};

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);
// Waits until `needle` is in the process's stderr; a failure shows what it wrote.
::testing::AssertionResult wait_for_log(const Process& process, const std::string& needle,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& content);
std::vector<std::string> read_lines(const std::filesystem::path& path);
std::size_t count_lines(const std::filesystem::path& path);

// Pids of running processes whose command line holds `needle` (e.g. "--stage extract").
std::vector<pid_t> processes_with(const std::string& needle);
// One line per process: its pid, state and kernel wait channel (from /proc), and its command line; to say which
// process lingered when a test expected none.
std::string describe_processes(const std::vector<pid_t>& pids);

// A distinct French-like dispatch in the scraped text layout, generated from `n`.
std::string generated_dispatch(int n);

// Writes generated dispatches from..to-1 as <dir>/inbox/doc-NNNN.txt.
void write_inbox(const TempDir& dir, int from, int to);

// fetch (from <dir>/inbox) -> dedupe -> langid -> extract (2 replicas) -> out (sink_jsonl, state/out.jsonl), state
// under <dir>/state; `fetch_extra` is added to fetch's options, `pipeline_extra` (lines) to `pipeline:`.
std::string whole_pipeline_yaml(const TempDir& dir, const std::string& fetch_extra,
                                const std::string& pipeline_extra = "");

// How many files with extension `extension` (".json") `dir` holds; 0 when it does not exist.
int count_files(const std::filesystem::path& dir, const std::string& extension);

// Maps the url of each record of a JSON Lines sink to how many times it was stored.
std::map<std::string, int> stored_urls(const std::filesystem::path& sink);

// Waits for a `vnawire replay` child to print where it serves; returns its base URL ("" when it did not come up).
std::string start_replay(Process& replay);

// A plain HTTP/1.1 server on 127.0.0.1 serving fixed bodies by path (404 otherwise), one request per
// connection, on a thread of its own: for inputs the replay server does not serve (feeds written by a test).
class StaticServer {
 public:
  struct Page {
    std::string content_type;
    std::string body;
  };
  StaticServer();
  ~StaticServer();
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Serves `page` at `path` from now on.
  void put(const std::string& path, Page page);

 private:
  void serve();
  std::mutex mutex_;
  std::map<std::string, Page> pages_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// A free loopback TCP port range of `count` ports.
int free_port_range(int count);

}  // namespace vnawire::testing
