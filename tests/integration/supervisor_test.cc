// The supervisor under trouble, with real processes: a second daemon on the same folders, a malformed
// control message, replicas crashing while the pipeline starts or drains, documents too large for the
// next stage, and a drain whose counts cannot balance.
#include <signal.h>

#include <sqlite3.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

// A pipeline reading <dir>/inbox: `pipeline_keys` go into `pipeline:`, `stages` follow a fetch stage.
std::string pipeline_yaml(const TempDir& dir, const std::string& pipeline_keys, const std::string& stages) {
  return "pipeline: {state_dir: " + (dir / "state").string() + ", heartbeat_ms: 200, flush_interval_ms: 100" +
         (pipeline_keys.empty() ? "" : ", " + pipeline_keys) +
         "}\n"
         "stages:\n"
         "  - {name: fetch, type: fetch, options: {directory: " +
         (dir / "inbox").string() + ", poll_interval_ms: 50, settle_ms: 50}}\n" + stages;
}

// Stages named after their types, each reading from the one before (fetch first), then a JSON Lines sink
// `out` writing <state>/out.jsonl.
std::string chain(const std::vector<std::string>& types) {
  std::string yaml, input = "fetch";
  for (const auto& type : types) {
    yaml += "  - {name: " + type + ", type: " + type + ", inputs: [" + input + "]}\n";
    input = type;
  }
  return yaml + "  - {name: out, type: sink_jsonl, inputs: [" + input + "], options: {path: out.jsonl}}\n";
}

bool logged(const Process& process, const std::string& needle) {
  return process.errors().find(needle) != std::string::npos;
}

pid_t only_process_of(const TempDir& dir, const std::string& stage) {
  auto pids = processes_with("--base-dir " + dir.path().string() + " --stage " + stage + " ");
  return pids.size() == 1 ? pids[0] : -1;
}

int rows_in(const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  int rows = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_exec(
        db, "SELECT count(*) FROM documents",
        [](void* out, int, char** values, char**) {
          *static_cast<int*>(out) = std::atoi(values[0]);
          return 0;
        },
        &rows, nullptr);
  }
  sqlite3_close(db);
  return rows;
}

std::string config_path(const TempDir& dir, const std::string& name = "pipeline.yaml") { return (dir / name).string(); }

TEST(Supervisor, ASecondDaemonOnTheSameFoldersIsRefusedAtOnceNamingTheLockAndItsHolder) {
  TempDir dir;
  std::filesystem::create_directories(dir / "inbox");
  write_file(dir / "pipeline.yaml", pipeline_yaml(dir, "", chain({})));
  // Another run_dir, the same state_dir.
  write_file(dir / "other-run-dir.yaml", pipeline_yaml(dir, "run_dir: " + (dir / "run2").string(), chain({})));
  Process first({kBinary, "run", "-c", config_path(dir)}, dir.path());
  ASSERT_TRUE(wait_for_log(first, "pipeline running"));

  Process same({kBinary, "run", "-c", config_path(dir)}, dir.path());
  EXPECT_EQ(same.wait(seconds(10)), 1) << same.errors();
  EXPECT_TRUE(logged(same, (dir / "state/run/lock").string())) << same.errors();
  EXPECT_TRUE(logged(same, "pid " + std::to_string(first.pid()))) << same.errors();
  Process other({kBinary, "run", "-c", config_path(dir, "other-run-dir.yaml")}, dir.path());
  EXPECT_EQ(other.wait(seconds(10)), 1) << other.errors();
  EXPECT_TRUE(logged(other, (dir / "state/lock").string())) << other.errors();
  EXPECT_TRUE(logged(other, "pid " + std::to_string(first.pid()))) << other.errors();

  // The first daemon kept its sockets: documents still flow, and it stops cleanly.
  write_inbox(dir, 0, 3);
  ASSERT_TRUE(wait_until([&] { return count_lines(dir / "state/out.jsonl") >= 3; }, seconds(30))) << first.errors();
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(seconds(30)), 0) << first.errors();
  // Its locks went with it.
  Process next({kBinary, "run", "-c", config_path(dir)}, dir.path());
  ASSERT_TRUE(wait_for_log(next, "pipeline running"));
  next.signal(SIGTERM);
  EXPECT_EQ(next.wait(seconds(30)), 0) << next.errors();
}

TEST(Supervisor, AMalformedControlMessageIsLoggedAndCountedAndTheDaemonGoesOn) {
  TempDir dir;
  std::filesystem::create_directories(dir / "inbox");
  write_file(dir / "pipeline.yaml", pipeline_yaml(dir, "restart_backoff_ms: 2000", chain({})));
  Process daemon({kBinary, "run", "-c", config_path(dir)}, dir.path());
  ASSERT_TRUE(wait_for_log(daemon, "pipeline running"));
  // Speak for the sink's replica while it waits for its restart: a live replica would lose its
  // connection to the routing-id handover.
  const pid_t sink = only_process_of(dir, "out");
  ASSERT_GT(sink, 0);
  ::kill(sink, SIGKILL);
  ASSERT_TRUE(wait_for_log(daemon, "out#0 killed by signal Killed; restarting in 2000 ms"));
  {
    zmq::context_t context(1);
    zmq::socket_t impostor(context, zmq::socket_type::dealer);
    impostor.set(zmq::sockopt::routing_id, "out#0");
    impostor.set(zmq::sockopt::linger, 5000);
    impostor.connect("ipc://" + (dir / "state/run/control").string());
    // A field of the wrong type in the first two (the second has the replica's pid), not an object in the third.
    for (const std::string& body :
         {std::string(R"({"pid": "not a number"})"), R"({"pid": )" + std::to_string(sink) + R"(, "received": "many"})",
          std::string("[1, 2]")}) {
      const std::array<zmq::const_buffer, 2> frames = {zmq::str_buffer("HEARTBEAT"), zmq::buffer(body)};
      ASSERT_TRUE(zmq::send_multipart(impostor, frames));
    }
  }
  ASSERT_TRUE(wait_for_log(daemon, "bad control message 3 from out#0 (HEARTBEAT): the body is not a JSON object"));
  EXPECT_TRUE(logged(daemon, "bad control message 1 from out#0 (HEARTBEAT): [json.exception.type_error.302]"))
      << daemon.errors();
  write_inbox(dir, 0, 3);
  ASSERT_TRUE(wait_until([&] { return count_lines(dir / "state/out.jsonl") >= 3; }, seconds(30))) << daemon.errors();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_TRUE(logged(daemon, "out in 3 out 3 restarts 1 | bad control messages 3")) << daemon.errors();
}

TEST(Supervisor, AReplicaThatCrashedAsTheDrainBeganIsRestartedAndTheDrainBalances) {
  TempDir dir;
  write_inbox(dir, 0, 5);
  write_file(dir / "pipeline.yaml",
             pipeline_yaml(dir, "log_level: debug, restart_backoff_ms: 4000, drain_timeout_ms: 20000",
                           chain({"dedupe", "langid"})));
  Process daemon({kBinary, "run", "-c", config_path(dir)}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 5; }, seconds(30))) << daemon.errors();
  const pid_t langid = only_process_of(dir, "langid");
  ASSERT_GT(langid, 0);
  ::kill(langid, SIGKILL);
  ASSERT_TRUE(wait_for_log(daemon, "langid#0 killed by signal Killed; restarting in 4000 ms"));
  // Five more documents leave fetch; dedupe holds them, since no langid takes them.
  write_inbox(dir, 5, 10);
  ASSERT_TRUE(wait_until([&] { return count_lines(dir / "state/fetch/emitted.log") >= 10; }, seconds(30)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(60)), 0) << daemon.errors();
  const std::string log = daemon.errors();
  EXPECT_LT(log.find("stopping (SIGTERM)"), log.rfind("started langid#0")) << "the test did not crash it in time";
  const auto urls = stored_urls(sink);
  EXPECT_EQ(urls.size(), 10u);
  for (const auto& [url, times] : urls) EXPECT_EQ(times, 1) << url;
}

TEST(Supervisor, AReplicaThatWasReadyAndCrashedWhileOthersStillStartIsRestarted) {
  TempDir dir;
  std::filesystem::create_directories(dir / "inbox");
  std::filesystem::create_directories(dir / "state");
  // The database is locked, so the sink is still starting when langid, already ready, crashes.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "state/db.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  write_file(dir / "pipeline.yaml", pipeline_yaml(dir, "log_level: debug",
                                                  "  - {name: langid, type: langid, inputs: [fetch]}\n"
                                                  "  - {name: db, type: sink_sqlite, inputs: [langid],"
                                                  " options: {path: db.sqlite, busy_timeout_ms: 8000}}\n"));
  Process daemon({kBinary, "run", "-c", config_path(dir)}, dir.path());
  ASSERT_TRUE(wait_for_log(daemon, "langid#0 ready"));
  ASSERT_FALSE(logged(daemon, "pipeline running"));
  ::kill(only_process_of(dir, "langid"), SIGKILL);
  ASSERT_TRUE(
      wait_until([&] { return logged(daemon, "restarting in") || logged(daemon, "before it was ready"); }, seconds(20)))
      << daemon.errors();
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_TRUE(logged(daemon, "langid#0 killed by signal Killed; restarting in 250 ms")) << daemon.errors();
  ASSERT_TRUE(wait_for_log(daemon, "pipeline running"));
  write_inbox(dir, 0, 3);
  ASSERT_TRUE(wait_until([&] { return rows_in(dir / "state/db.sqlite") >= 3; }, seconds(30))) << daemon.errors();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_TRUE(logged(daemon, "db in 3 out 3")) << daemon.errors();
}

// About 36 KB of text: under a 64 KiB message limit as fetch sends it, over it once extract added the
// article (title, paragraphs) beside the body.
std::string long_dispatch() {
  std::string text = "Un long rapport sur les ports fluviaux\n\nHanoï (VNA) – Les délégués ont examiné le rapport.\n\n";
  for (int i = 0; text.size() < 36000; ++i) {
    text += "Le paragraphe " + std::to_string(i) +
            " du rapport indique une hausse des investissements dans les ports fluviaux, selon le comité.\n\n";
  }
  return text + "-VNA";
}

TEST(Supervisor, ADocumentTooLargeForTheNextStageIsDeadLetteredAndTheStopIsClean) {
  TempDir dir;
  write_inbox(dir, 0, 5);
  write_file(dir / "inbox/long.txt", long_dispatch());
  write_file(dir / "pipeline.yaml", pipeline_yaml(dir, "max_message_bytes: 65536", chain({"langid", "extract"})));
  Process daemon({kBinary, "run", "-c", config_path(dir)}, dir.path());
  const auto dead = dir / "state/deadletter/extract.0.jsonl";
  ASSERT_TRUE(
      wait_until([&] { return count_lines(dir / "state/out.jsonl") >= 5 && count_lines(dead) >= 1; }, seconds(30)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_TRUE(logged(daemon, "stopped cleanly")) << daemon.errors();
  EXPECT_TRUE(logged(daemon, "extract in 6 out 5 dead 1 | out in 5 out 5")) << daemon.errors();
  auto letter = nlohmann::json::parse(read_lines(dead).at(0));
  EXPECT_NE(letter["payload"].get<std::string>().find((dir / "inbox/long.txt").string()), std::string::npos);
  EXPECT_NE(letter["reason"].get<std::string>().find("bytes, over the 65536-byte message limit"), std::string::npos)
      << letter["reason"];
}

TEST(Supervisor, ADrainThatCannotBalanceIsNotReportedAsClean) {
  TempDir dir;
  std::filesystem::create_directories(dir / "inbox");
  write_file(dir / "pipeline.yaml", pipeline_yaml(dir, "restart_backoff_ms: 100",
                                                  "  - {name: db, type: sink_sqlite, inputs: [fetch],"
                                                  " options: {path: db.sqlite, busy_timeout_ms: 0}}\n"));
  Process daemon({kBinary, "run", "-c", config_path(dir)}, dir.path());
  ASSERT_TRUE(wait_for_log(daemon, "pipeline running"));
  // The sink waits on a lock with the documents in hand, and dies with them.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "state/db.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  write_inbox(dir, 0, 3);
  ASSERT_TRUE(wait_for_log(daemon, "will retry"));
  ASSERT_TRUE(wait_until([&] { return count_lines(dir / "state/fetch/emitted.log") >= 3; }, seconds(30)));
  ::kill(only_process_of(dir, "db"), SIGKILL);
  ASSERT_TRUE(wait_for_log(daemon, "db#0 killed by signal Killed; restarting"));
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(30)), 1) << daemon.errors();
  EXPECT_FALSE(logged(daemon, "stopped cleanly")) << daemon.errors();
  EXPECT_TRUE(logged(daemon, "not a clean stop")) << daemon.errors();
}

}  // namespace
}  // namespace vnawire::testing
