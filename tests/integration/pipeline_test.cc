// The whole pipeline as real processes: exactly-once delivery, replicas, drain on SIGTERM, restarts.
#include <signal.h>

#include <sqlite3.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "stages/runtime/json_dump.h"
#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

void expect_exactly_once(const TempDir& dir, const std::filesystem::path& sink, int count) {
  auto urls = stored_urls(sink);
  ASSERT_EQ(urls.size(), static_cast<std::size_t>(count));
  for (int n = 0; n < count; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "doc-%04d.txt", n);
    const std::string url = "file://" + (dir / "inbox" / name).string();
    ASSERT_EQ(urls[url], 1) << url;
  }
}

TEST(Pipeline, TwoHundredDocumentsReachTheSinkExactlyOnceThroughTwoExtractReplicas) {
  TempDir dir;
  write_inbox(dir, 0, 200);
  write_file(dir / "pipeline.yaml", whole_pipeline_yaml(dir, ""));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 200; }, seconds(60))) << daemon.errors();
  // One process per replica: two extract processes, one of each other stage.
  const std::string tag = (dir / "state/run/pipeline.yaml").string();
  EXPECT_EQ(processes_with(tag + " --base-dir " + dir.path().string() + " --stage extract").size(), 2u);
  EXPECT_EQ(processes_with(tag + " --base-dir " + dir.path().string() + " --stage langid").size(), 1u);
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  expect_exactly_once(dir, sink, 200);
  for (const auto& line : read_lines(sink)) {
    auto record = nlohmann::json::parse(line);
    EXPECT_EQ(record["lang"]["code"], "fr");
    EXPECT_TRUE(record["article"]["title"].is_string());
    EXPECT_EQ(record["article"]["dateline"]["place"].is_string(), true);
  }
  EXPECT_TRUE(processes_with(tag).empty()) << "stage processes outlived the daemon:\n"
                                           << describe_processes(processes_with(tag));
}

// SIGKILL gives the daemon no chance to stop its stages: the kernel tells them (PR_SET_PDEATHSIG), they go at
// once, and a new daemon sends again from the outbox whatever was not acknowledged.
TEST(Pipeline, ADaemonKilledWithSigkillLeavesNoStageBehindAndARestartFinishesTheWork) {
  TempDir dir;
  write_inbox(dir, 0, 3000);
  // Near copies (the generator makes a few in 3,000) are tagged, not dropped, so that every file is stored.
  std::string yaml = whole_pipeline_yaml(dir, "");
  yaml.replace(yaml.find("    type: dedupe\n"), 17, "    type: dedupe\n    options: {action: tag, near_action: tag}\n");
  write_file(dir / "pipeline.yaml", yaml);
  const auto sink = dir / "state/out.jsonl";
  const std::string tag = "--base-dir " + dir.path().string() + " --stage ";
  {
    Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
    ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 20; }, seconds(60))) << daemon.errors();
    daemon.signal(SIGKILL);
    EXPECT_EQ(daemon.wait(seconds(10)), 128 + SIGKILL);
    EXPECT_TRUE(wait_until([&] { return processes_with(tag).empty(); }, seconds(5)))
        << "stage processes outlived the daemon:\n"
        << describe_processes(processes_with(tag));
  }
  EXPECT_LT(count_lines(sink), 3000u) << "the run was over before the kill";
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 3000; }, seconds(120))) << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  expect_exactly_once(dir, sink, 3000);
  EXPECT_EQ(count_lines(dir / "state/deadletter/dedupe.0.jsonl") + count_lines(dir / "state/deadletter/langid.0.jsonl"),
            0u)
      << "a document that its source sends again was dead-lettered";
}

// "socket:[inode]" for each socket a process holds open.
std::set<std::string> sockets_of(pid_t pid) {
  std::set<std::string> sockets;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (!ec && target.starts_with("socket:")) sockets.insert(target);
  }
  return sockets;
}

// "socket:[inode]" of every listening TCP socket of the machine (/proc/net/tcp and tcp6, state 0A).
std::set<std::string> listening_sockets() {
  std::set<std::string> sockets;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream lines(read_file(table));
    std::string line;
    std::getline(lines, line);  // the column names
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::vector<std::string> field{std::istream_iterator<std::string>(fields), {}};
      if (field.size() > 9 && field[3] == "0A") sockets.insert("socket:[" + field[9] + "]");
    }
  }
  return sockets;
}

// The daemon's metrics listener must not live on in its stages (Asio opens it without close-on-exec): a stage
// that outlived a killed daemon would hold the port, and the next daemon could not serve metrics on it.
TEST(Pipeline, StageProcessesInheritNoneOfTheDaemonsListeningSockets) {
  TempDir dir;
  write_inbox(dir, 0, 5);
  write_file(dir / "pipeline.yaml", whole_pipeline_yaml(dir, ""));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return count_lines(dir / "state/out.jsonl") >= 5; }, seconds(60))) << daemon.errors();
  const std::set<std::string> listening = listening_sockets();
  std::set<std::string> listeners;
  for (const auto& socket : sockets_of(daemon.pid())) {
    if (listening.contains(socket)) listeners.insert(socket);
  }
  ASSERT_FALSE(listeners.empty()) << "the daemon serves its metrics on a TCP listener";
  const std::vector<pid_t> stages = processes_with("--base-dir " + dir.path().string() + " --stage ");
  ASSERT_EQ(stages.size(), 6u) << describe_processes(stages);  // extract has two replicas
  for (const pid_t stage : stages) {
    for (const auto& socket : sockets_of(stage)) {
      EXPECT_FALSE(listeners.contains(socket)) << "stage pid " << stage << " holds the daemon's listener " << socket;
    }
  }
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
}

TEST(Pipeline, SigtermDrainsInFlightDocumentsAndARestartFinishesTheRest) {
  TempDir dir;
  write_inbox(dir, 0, 200);
  // A slow source so that SIGTERM lands mid-stream (slower still in a sanitized build, whose stages start later).
  write_file(dir / "pipeline.yaml",
             whole_pipeline_yaml(dir, ", max_docs_per_second: " + std::to_string(80 / kTimeScale)));
  const auto sink = dir / "state/out.jsonl";
  {
    Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
    ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 20; }, seconds(60))) << daemon.errors();
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  }
  const std::size_t emitted = count_lines(dir / "state/fetch/emitted.log");
  const std::size_t stored = count_lines(sink);
  EXPECT_LT(emitted, 200u) << "the source finished before SIGTERM: the test proves nothing";
  EXPECT_EQ(stored, emitted) << "documents emitted by fetch were lost during the drain";
  {
    Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
    ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 200; }, seconds(60))) << daemon.errors();
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  }
  expect_exactly_once(dir, sink, 200);
}

TEST(Pipeline, ADrainWaitsForALockedDatabaseAndASecondSigtermForcesTheStop) {
  TempDir dir;
  write_file(
      dir / "pipeline.yaml",
      "pipeline: {state_dir: " + dir.path().string() +
          "/state, drain_timeout_ms: 600000}\n"
          "stages:\n"
          "  - {name: fetch, type: fetch, options: {directory: " +
          dir.path().string() +
          "/inbox, settle_ms: 0,"
          " poll_interval_ms: 50}}\n"
          "  - {name: db, type: sink_sqlite, inputs: [fetch], options: {path: db.sqlite, busy_timeout_ms: 0}}\n");
  std::filesystem::create_directories(dir / "inbox");
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto db_path = dir / "state/db.sqlite";
  ASSERT_TRUE(wait_until([&] { return daemon.errors().find("pipeline running") != std::string::npos; }, seconds(30)))
      << daemon.errors();
  // Another process holds the database: the sink can only retry.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  write_inbox(dir, 0, 3);
  ASSERT_TRUE(wait_until([&] { return daemon.errors().find("will retry") != std::string::npos; }, seconds(30)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_TRUE(wait_until([&] { return daemon.errors().find("stopping (SIGTERM)") != std::string::npos; }, seconds(10)));
  EXPECT_TRUE(daemon.still_running_after(std::chrono::milliseconds(1500))) << "the drain must wait for the held "
                                                                              "document";
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(20)), 1) << daemon.errors();
  EXPECT_NE(daemon.errors().find("stopping now without draining"), std::string::npos) << daemon.errors();
  EXPECT_TRUE(processes_with("--base-dir " + dir.path().string()).empty());
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

TEST(Pipeline, ACrashedStageIsRestartedAndTheFlowGoesOn) {
  TempDir dir;
  write_inbox(dir, 0, 10);
  write_file(dir / "pipeline.yaml", whole_pipeline_yaml(dir, ""));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 10; }, seconds(60))) << daemon.errors();
  const std::string needle = "--base-dir " + dir.path().string() + " --stage langid";
  auto before = processes_with(needle);
  ASSERT_EQ(before.size(), 1u);
  ::kill(before[0], SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] {
        auto now = processes_with(needle);
        return now.size() == 1 && now[0] != before[0];
      },
      seconds(20)))
      << daemon.errors();
  // A second crash soon after: the delay before the restart doubles. Only once the new process is ready: one
  // killed while starting is a stage that cannot start, which stops the pipeline by design.
  auto ready_lines = [&] {
    const std::string log = daemon.errors();
    std::size_t n = 0;
    for (auto at = log.find("[langid#0] ready ("); at != std::string::npos; at = log.find("[langid#0] ready (", at + 1))
      ++n;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return ready_lines() >= 2; }, seconds(20))) << daemon.errors();
  const pid_t second = processes_with(needle).at(0);
  ::kill(second, SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] {
        auto now = processes_with(needle);
        return now.size() == 1 && now[0] != second;
      },
      seconds(20)))
      << daemon.errors();
  write_inbox(dir, 10, 20);
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 20; }, seconds(60))) << daemon.errors();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_NE(daemon.errors().find("langid#0 killed by signal Killed; restarting in 250 ms"), std::string::npos)
      << daemon.errors();
  EXPECT_NE(daemon.errors().find("langid#0 killed by signal Killed; restarting in 500 ms"), std::string::npos)
      << daemon.errors();
  expect_exactly_once(dir, sink, 20);
}

TEST(Pipeline, ExactDuplicatesAreDroppedAndOversizedFilesDeadLettered) {
  TempDir dir;
  write_inbox(dir, 0, 5);
  write_file(dir / "inbox/copy-of-0.txt", generated_dispatch(0));
  write_file(dir / "inbox/huge.txt", std::string(300000, 'x'));
  write_file(dir / "pipeline.yaml", whole_pipeline_yaml(dir, ", max_bytes: 200000"));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  const auto dead = dir / "state/deadletter/fetch.0.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 5 && count_lines(dead) >= 1; }, seconds(60)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_EQ(count_lines(sink), 5u);
  auto letter = nlohmann::json::parse(read_lines(dead).at(0));
  EXPECT_NE(letter["reason"].get<std::string>().find("file larger than max_bytes"), std::string::npos);
  EXPECT_NE(letter["reason"].get<std::string>().find("huge.txt"), std::string::npos);
}

TEST(Pipeline, ReplicasOnBothSidesAndTwoSinksEachGettingEveryDocument) {
  TempDir dir;
  write_inbox(dir, 0, 60);
  std::string yaml = whole_pipeline_yaml(dir, "");
  yaml.replace(yaml.find("    type: dedupe\n"), 17, "    type: dedupe\n    replicas: 2\n");
  yaml.replace(yaml.find("    replicas: 2\n    inputs: [langid]"), 16, "    replicas: 3\n");
  yaml += "  - name: db\n    type: sink_sqlite\n    inputs: [extract]\n    options: {path: out.db}\n";
  write_file(dir / "pipeline.yaml", yaml);
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 60; }, seconds(60))) << daemon.errors();
  const std::string tag = "--base-dir " + dir.path().string() + " --stage ";
  EXPECT_EQ(processes_with(tag + "extract").size(), 3u);
  EXPECT_EQ(processes_with(tag + "dedupe").size(), 2u);
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  expect_exactly_once(dir, sink, 60);
  EXPECT_NE(daemon.errors().find("db in 60 out 60"), std::string::npos) << daemon.errors();
}

TEST(Pipeline, RunsOverTcpTransport) {
  TempDir dir;
  write_inbox(dir, 0, 20);
  const int base = free_port_range(8);
  ASSERT_GT(base, 0);
  write_file(dir / "pipeline.yaml",
             whole_pipeline_yaml(dir, "", "  transport: tcp\n  tcp_base_port: " + std::to_string(base) + "\n"));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 20; }, seconds(60))) << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  expect_exactly_once(dir, sink, 20);
}

TEST(Pipeline, AStageThatCannotStartStopsTheDaemonWithAClearMessage) {
  TempDir dir;
  std::string yaml = whole_pipeline_yaml(dir, "");
  yaml.replace(yaml.find("/inbox"), 6, "/no-such-folder");
  write_file(dir / "pipeline.yaml", yaml);
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  EXPECT_EQ(daemon.wait(seconds(30)), 1);
  EXPECT_NE(daemon.errors().find("stage fetch#0 cannot start: directory"), std::string::npos) << daemon.errors();
  EXPECT_NE(daemon.errors().find("no-such-folder does not exist"), std::string::npos) << daemon.errors();
}

}  // namespace
}  // namespace vnawire::testing

namespace vnawire::testing {
namespace {

TEST(Pipeline, LangidRoutesRefusedLanguagesToTheirOwnStageAndTheStopBalances) {
  TempDir dir;
  write_inbox(dir, 0, 6);  // French
  for (int n = 0; n < 3; ++n) {
    write_file(dir / "inbox" / ("en-" + std::to_string(n) + ".txt"),
               "Port city opens new logistics centre number " + std::to_string(n) +
                   "\n\nThe provincial authorities said on Monday that the new centre would cut transport costs "
                   "for exporters and create several hundred jobs in the coming years.\n");
    write_file(dir / "inbox" / ("vi-" + std::to_string(n) + ".txt"),
               "Tỉnh khai trương trung tâm hậu cần mới số " + std::to_string(n) +
                   "\n\nLãnh đạo tỉnh cho biết trung tâm mới sẽ giúp giảm chi phí vận chuyển cho doanh nghiệp "
                   "xuất khẩu và tạo thêm nhiều việc làm trong những năm tới.\n");
  }
  const std::string yaml =
      "pipeline:\n  state_dir: " + dir.path().string() +
      "/state\n  flush_interval_ms: 100\n  heartbeat_ms: 200\n"
      "stages:\n"
      "  - name: fetch\n    type: fetch\n    options: {directory: " +
      dir.path().string() +
      "/inbox, poll_interval_ms: 100, settle_ms: 50}\n"
      "  - name: langid\n    type: langid\n    inputs: [fetch]\n"
      "    options: {accept: [fr], route_rejected_to: others}\n"
      "  - name: french\n    type: sink_jsonl\n    inputs: [langid]\n    options: {path: french.jsonl}\n"
      "  - name: others\n    type: sink_jsonl\n    inputs: [langid]\n    options: {path: others.jsonl}\n";
  write_file(dir / "pipeline.yaml", yaml);
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto french = dir / "state/french.jsonl";
  const auto others = dir / "state/others.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(french) >= 6 && count_lines(others) >= 6; }, seconds(60)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_EQ(count_lines(french), 6u);
  EXPECT_EQ(count_lines(others), 6u);
  // langid sends what fetch wrote with "lang" spliced in, and the sinks write what they got: still the record
  // written whole, routed or not.
  for (const auto& line : read_lines(french)) {
    EXPECT_EQ(nlohmann::json::parse(line)["lang"]["code"], "fr");
    EXPECT_EQ(line, runtime::dump_json(nlohmann::json::parse(line)));
  }
  std::multiset<std::string> routed;
  for (const auto& line : read_lines(others)) {
    routed.insert(nlohmann::json::parse(line)["lang"]["code"]);
    EXPECT_EQ(line, runtime::dump_json(nlohmann::json::parse(line)));
  }
  EXPECT_EQ(routed, (std::multiset<std::string>{"en", "en", "en", "vi", "vi", "vi"}));
  EXPECT_NE(daemon.errors().find("routed to others 6"), std::string::npos) << daemon.errors();
}

TEST(Pipeline, ARouteTargetThatDoesNotReadFromTheStageStopsTheStartWithAClearMessage) {
  TempDir dir;
  const std::string yaml = "pipeline:\n  state_dir: " + dir.path().string() +
                           "/state\n"
                           "stages:\n"
                           "  - name: fetch\n    type: fetch\n    options: {directory: " +
                           dir.path().string() +
                           "/inbox}\n"
                           "  - name: langid\n    type: langid\n    inputs: [fetch]\n"
                           "    options: {accept: [fr], route_rejected_to: nowhere}\n"
                           "  - name: out\n    type: sink_jsonl\n    inputs: [langid]\n";
  write_file(dir / "pipeline.yaml", yaml);
  // The inbox exists, so that the route target is the only thing wrong: a fetch stage failing on a
  // missing folder could stop the pipeline before langid reports it.
  std::filesystem::create_directories(dir / "inbox");
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  EXPECT_NE(daemon.wait(seconds(30)), 0);
  EXPECT_NE(daemon.errors().find("route target 'nowhere' is not a stage reading from langid"), std::string::npos)
      << daemon.errors();
}

}  // namespace
}  // namespace vnawire::testing
