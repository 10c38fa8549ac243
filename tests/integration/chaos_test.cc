// Chaos: 5,000 dispatches from a replay server through fetch -> dedupe -> langid -> 2 x extract -> SQLite and
// JSON Lines, while a random stage process is killed with SIGKILL every 300 ms for 20 s and the daemon
// restarts it. Acknowledgements must bring every document to both sinks exactly once.
#include <signal.h>
#include <sqlite3.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kChaosDocuments = 5000;

// Rows of the SQLite sink's documents table, and how many distinct ids they hold (-1: unreadable).
std::pair<long, long> sqlite_rows(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  std::pair<long, long> rows{-1, -1};
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT id) FROM documents", -1, &statement, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      rows = {sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1)};
    }
    sqlite3_finalize(statement);
  }
  sqlite3_close(db);
  return rows;
}

TEST(Chaos, EveryDocumentReachesBothSinksExactlyOnceWhileStagesAreKilledEvery300Ms) {
  TempDir dir;
  std::filesystem::create_directories(dir / "site");
  for (int n = 0; n < kChaosDocuments; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "item-%05d.txt", n);
    write_file(dir / "site" / name, generated_dispatch(n));
  }
  Process replay({kBinary, "replay", "--dir", (dir / "site").string(), "--listen", "127.0.0.1:0"}, dir.path());
  const std::string base = start_replay(replay);
  ASSERT_FALSE(base.empty()) << replay.errors();
  // Crashes restart fast here (the defaults back off up to 30 s), and a lost copy is sent again after 3 s (more in
  // a sanitized build: sent again sooner than the pipeline can carry it, every copy would be sent again).
  write_file(
      dir / "pipeline.yaml",
      "pipeline:\n  state_dir: " + (dir / "state").string() +
          "\n  flush_interval_ms: 100\n  heartbeat_ms: 200\n  restart_backoff_ms: 50\n"
          "  restart_backoff_max_ms: 400\n  ack_timeout_ms: " +
          std::to_string(3000 * kTimeScale) +
          "\n  max_attempts: 100\n  drain_timeout_ms: " + std::to_string(60000 * kTimeScale) +
          "\nstages:\n"
          "  - name: fetch\n    type: fetch\n    options:\n      per_host_interval_ms: 0\n"
          "      per_host_in_flight: 8\n      sources:\n"
          "        - {name: replay, kind: site, url: '" +
          base +
          "/', interval_ms: 500, allow_private: true}\n"
          "  - name: dedupe\n    type: dedupe\n    inputs: [fetch]\n    options: {action: tag, near_action: tag}\n"
          "  - name: langid\n    type: langid\n    inputs: [dedupe]\n"
          "  - name: extract\n    type: extract\n    replicas: 2\n    inputs: [langid]\n"
          "  - name: db\n    type: sink_sqlite\n    inputs: [extract]\n    options: {path: out.db}\n"
          "  - name: out\n    type: sink_jsonl\n    inputs: [extract]\n    options: {path: out.jsonl}\n");
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto jsonl = dir / "state/out.jsonl";
  const auto db = dir / "state/out.db";
  ASSERT_TRUE(wait_until([&] { return count_lines(jsonl) >= 50; }, seconds(120))) << daemon.errors();

  const std::string tag = "--base-dir " + dir.path().string() + " --stage ";
  std::mt19937 random(20261202);
  std::map<std::string, int> kills;
  const auto chaos_end = std::chrono::steady_clock::now() + seconds(20);
  while (std::chrono::steady_clock::now() < chaos_end) {
    const std::vector<pid_t> stages = processes_with(tag);
    if (!stages.empty()) {
      const pid_t victim = stages[random() % stages.size()];
      const std::string command = read_file("/proc/" + std::to_string(victim) + "/cmdline");
      if (::kill(victim, SIGKILL) == 0) {
        const auto at = command.find("--stage");
        kills[at == std::string::npos ? "?" : command.substr(at + 8, command.find('\0', at + 8) - at - 8)]++;
      }
    }
    std::this_thread::sleep_for(milliseconds(300));
  }
  int total_kills = 0;
  for (const auto& [stage, n] : kills) total_kills += n;
  EXPECT_GE(total_kills, 40) << "the chaos did not happen";

  // Everything comes, in both sinks.
  const bool complete = wait_until(
      [&] {
        return count_lines(jsonl) >= static_cast<std::size_t>(kChaosDocuments) &&
               sqlite_rows(db).second >= kChaosDocuments;
      },
      seconds(400));
  daemon.signal(SIGTERM);
  const int code = daemon.wait(seconds(120));

  std::map<std::string, int> lines_per_url;
  for (const auto& line : read_lines(jsonl)) {
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object()) lines_per_url[record.value("url", std::string("?"))]++;
  }
  int duplicated = 0;
  for (const auto& [url, times] : lines_per_url) duplicated += times - 1;
  const int lost = kChaosDocuments - static_cast<int>(lines_per_url.size());
  const auto [rows, ids] = sqlite_rows(db);
  const std::string errors = daemon.errors();
  std::size_t resent = 0;
  for (std::size_t at = errors.find("sending it again"); at != std::string::npos;
       at = errors.find("sending it again", at + 1)) {
    ++resent;
  }
  std::string killed;
  for (const auto& [stage, n] : kills) killed += " " + stage + " " + std::to_string(n);
  std::printf(
      "chaos: %d kills (%s); JSON Lines: %d lost, %d duplicated; SQLite: %ld rows, %ld ids; %zu copies "
      "sent again by the source\n",
      total_kills, killed.c_str() + 1, lost, duplicated, rows, ids, resent);
  EXPECT_TRUE(complete) << "not every document reached both sinks";
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(rows, kChaosDocuments);
  EXPECT_EQ(ids, kChaosDocuments);
  EXPECT_EQ(code, 0) << errors.substr(errors.size() > 20000 ? errors.size() - 20000 : 0);
  EXPECT_TRUE(processes_with(tag).empty()) << "stage processes outlived the daemon:\n"
                                           << describe_processes(processes_with(tag));
  replay.signal(SIGTERM);
  EXPECT_EQ(replay.wait(seconds(20)), 0);
}

}  // namespace
}  // namespace vnawire::testing
