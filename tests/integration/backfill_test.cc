// A WARC backfill through `vnawire run`: on a pseudo-terminal a progress bar on the last row climbs to 100% and
// gives the row back; with --no-progress, or off a terminal, no bar, and the status line tells the progress.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kBackfillDocuments = 300;
constexpr int kRows = 30;

std::string warc_response(int n) {
  const std::string url = "https://example.invalid/archive/" + std::to_string(n) + ".html";
  const std::string body =
      "<html><body><h1>Dispatch " + std::to_string(n) + "</h1><p>" + generated_dispatch(n) + "</p></body></html>";
  const std::string block =
      "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  return "WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: " + url +
         "\r\nWARC-Date: 2026-11-30T06:00:00Z\r\nWARC-Record-ID: <urn:uuid:backfill-" + std::to_string(n) +
         ">\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: " + std::to_string(block.size()) +
         "\r\n\r\n" + block + "\r\n\r\n";
}

// fetch reads <dir>/archive (one WARC file), paced at 100 documents/s so that the backfill lasts about three
// seconds, and a JSON Lines sink stores what it sends.
std::filesystem::path write_backfill(const TempDir& dir) {
  std::filesystem::create_directories(dir / "archive");
  std::string warc;
  for (int n = 0; n < kBackfillDocuments; ++n) warc += warc_response(n);
  write_file(dir / "archive" / "crawl.warc", warc);
  const auto config = dir / "pipeline.yaml";
  write_file(config, "pipeline: {state_dir: " + (dir / "state").string() +
                         ", heartbeat_ms: 100, log_level: info}\n"
                         "stages:\n"
                         "  - {name: fetch, type: fetch, options: {max_docs_per_second: 100, sources: [{name: "
                         "archive, kind: warc, path: " +
                         (dir / "archive").string() +
                         "}]}}\n"
                         "  - {name: out, type: sink_jsonl, inputs: [fetch], options: {path: out.jsonl}}\n");
  return config;
}

// `vnawire run` with its stdin, stdout and stderr on a pseudo-terminal of kRows x 100, until every document is
// stored; then SIGTERM. Returns all it wrote and its exit code.
std::pair<std::string, int> run_on_a_terminal(const TempDir& dir, const std::filesystem::path& config,
                                              const std::vector<std::string>& extra) {
  winsize size{};
  size.ws_row = kRows;
  size.ws_col = 100;
  int master = -1;
  std::vector<std::string> args = {kBinary, "run", "-c", config.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) return {"forkpty failed", -1};
  if (pid == 0) {
    ::setenv("TERM", "xterm", 1);
    ::setenv("VNAWIRE_METRICS_ADDRESS", "127.0.0.1:0", 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  std::string out;
  int status = -1;
  bool stopping = false;
  const auto deadline = std::chrono::steady_clock::now() + seconds(60 * kTimeScale);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char buffer[4096];
      const ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n > 0) out.append(buffer, static_cast<std::size_t>(n));
    }
    if (!stopping && count_lines(dir / "state" / "out.jsonl") >= static_cast<std::size_t>(kBackfillDocuments)) {
      ::kill(pid, SIGTERM);
      stopping = true;
    }
    int raw = 0;
    if (::waitpid(pid, &raw, WNOHANG) == pid) {
      status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      break;
    }
  }
  if (status < 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  // What the terminal still holds once the process is gone (EIO when no one has it open any more).
  for (pollfd p{master, POLLIN, 0}; ::poll(&p, 1, 100) > 0;) {
    char buffer[4096];
    const ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(master);
  return {out, status};
}

TEST(Backfill, OnATerminalABarOnTheLastRowClimbsToTheEndAndGivesTheRowBack) {
  TempDir dir;
  const auto config = write_backfill(dir);
  const auto [out, status] = run_on_a_terminal(dir, config, {});
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(count_lines(dir / "state" / "out.jsonl"), static_cast<std::size_t>(kBackfillDocuments));

  const std::string region = "\x1b[1;" + std::to_string(kRows - 1) + "r";
  const auto set = out.find(region);
  ASSERT_NE(set, std::string::npos) << "no scroll region was set:\n" << out;
  // Every drawing goes to the last row; the shares it shows only grow, from below 100% up to 100%.
  const std::regex drawn("\x1b\\[" + std::to_string(kRows) + ";1H\x1b\\[2Kbackfill \\[[#.]+\\] +([0-9]+)%");
  std::vector<int> shares;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), drawn); it != std::sregex_iterator(); ++it) {
    shares.push_back(std::stoi((*it)[1].str()));
  }
  ASSERT_GE(shares.size(), 3u) << out;
  EXPECT_LT(shares.front(), 100) << out;
  EXPECT_EQ(shares.back(), 100) << out;
  EXPECT_TRUE(std::is_sorted(shares.begin(), shares.end())) << out;
  EXPECT_GE(std::set<int>(shares.begin(), shares.end()).size(), 3u) << "the bar did not move:\n" << out;
  // Once done, the row is given back (scrolling over the whole screen again) and the figures stay as a line.
  const auto last_draw = out.rfind("\x1b[" + std::to_string(kRows) + ";1H\x1b[2Kbackfill [");
  const auto reset = out.find("\x1b[r", last_draw);
  EXPECT_NE(reset, std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out.substr(reset == std::string::npos ? 0 : reset),
                                std::regex("backfill: [0-9.]+ kB of [0-9.]+ kB in [0-9]+s \\([0-9.]+ kB/s\\)")))
      << out;
  // The daemon's own log lines went on above the bar.
  EXPECT_NE(out.find("stopping (", set), std::string::npos) << out;
}

TEST(Backfill, WithNoProgressOrOffATerminalThereIsNoBarButTheStatusLineTellsIt) {
  TempDir dir;
  const auto config = write_backfill(dir);
  const auto [out, status] = run_on_a_terminal(dir, config, {"--no-progress"});
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(out.find("\x1b[1;"), std::string::npos) << out;
  EXPECT_EQ(out.find("backfill ["), std::string::npos) << out;

  TempDir again;
  const auto second = write_backfill(again);
  Process daemon({kBinary, "run", "-c", second.string()}, again.path());
  ASSERT_TRUE(wait_until([&] { return count_lines(again / "state" / "out.jsonl") >= kBackfillDocuments; },
                         seconds(60 * kTimeScale)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30 * kTimeScale)), 0) << daemon.errors();
  EXPECT_EQ(daemon.errors().find('\x1b'), std::string::npos) << daemon.errors();
  EXPECT_NE(daemon.errors().find("fetch in 0 out 300 backfill 100% of "), std::string::npos) << daemon.errors();
}

}  // namespace
}  // namespace vnawire::testing
