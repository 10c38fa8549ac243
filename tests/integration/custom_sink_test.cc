// Custom sinks as real processes (docs/sinks.md): the shell example (exec, jsonl mode), the Python example and
// the C++ example built against the installed SDK (exec, zmq mode) each store every document of a run, and a
// sink program killed during a run is started again by the daemon.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <set>
#include <thread>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kExamples = VNAWIRE_SOURCE_DIR "/examples/sinks";

// The whole pipeline plus `files`, `replicas` of an exec stage running `command` (the items of a YAML flow list)
// in `mode`, storing into <dir>/records.
// `extra` adds options ("acknowledges: true, ").
std::string with_exec_sink(const TempDir& dir, const std::string& mode, const std::string& command, int replicas = 1,
                           const std::string& extra = "") {
  return whole_pipeline_yaml(dir, "") + "  - name: files\n    type: exec\n    replicas: " + std::to_string(replicas) +
         "\n    inputs: [extract]\n    options: {" + extra + "mode: " + mode + ", command: [" + command + ", " +
         (dir / "records").string() + "]}\n";
}

int stored(const TempDir& dir) { return count_files(dir / "records", ".json"); }

// Every record the JSON Lines sink of the same run got is in <dir>/records/<id>.json, and nothing else.
void expect_the_same_records(const TempDir& dir, int count) {
  std::set<std::string> ids;
  for (const auto& line : read_lines(dir / "state/out.jsonl")) {
    const std::string id = nlohmann::json::parse(line).at("id");
    ids.insert(id);
    const auto file = dir / "records" / (id + ".json");
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(nlohmann::json::parse(read_file(file)).at("id"), id) << file;
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(count));
  EXPECT_EQ(stored(dir), count);
}

// Runs `yaml` over `count` new documents and stops it: the exec sink stored each one, and the stop balances.
void run_and_expect_every_document_stored(const TempDir& dir, const std::string& yaml, int count) {
  write_inbox(dir, 0, count);
  write_file(dir / "pipeline.yaml", yaml);
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  ASSERT_TRUE(wait_until(
      [&] { return stored(dir) >= count && count_lines(dir / "state/out.jsonl") >= static_cast<std::size_t>(count); },
      seconds(60)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  expect_the_same_records(dir, count);
  const std::string balance = "files in " + std::to_string(count) + " out " + std::to_string(count);
  EXPECT_NE(daemon.errors().find(balance), std::string::npos) << daemon.errors();
}

TEST(CustomSink, TheShellExampleInJsonlModeGetsEveryDocumentOnce) {
  TempDir dir;
  run_and_expect_every_document_stored(dir, with_exec_sink(dir, "jsonl", std::string(kExamples) + "/shell/store.sh"),
                                       40);
}

// Two replicas: each has its own identity, and the two together get every document.
TEST(CustomSink, ThePythonExampleSpeakingTheWireProtocolGetsEveryDocument) {
  TempDir dir;
  run_and_expect_every_document_stored(dir, with_exec_sink(dir, "zmq", std::string(kExamples) + "/python/store.py", 2),
                                       40);
}

// The C++ example as a user would build it: against an installed vnawire, found with find_package(vnawire).
TEST(CustomSink, TheCppExampleBuiltAgainstTheInstalledSdkGetsEveryDocument) {
  TempDir dir;
  const std::string prefix = (dir / "prefix").string(), build = (dir / "build").string();
  const std::string log = (dir / "build.log").string();
  const std::string commands = "cmake --install " VNAWIRE_BUILD_DIR " --prefix " + prefix + " >" + log +
                               " 2>&1 && cmake -S " + kExamples + "/cpp -B " + build +
                               " -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + prefix + " >>" + log +
                               " 2>&1 && cmake --build " + build + " >>" + log + " 2>&1";
  ASSERT_EQ(std::system(commands.c_str()), 0) << read_file(log);
  EXPECT_FALSE(std::filesystem::exists(dir / "prefix/include/boost")) << "the SDK installs no Boost";

  // Outside a pipeline it says what it misses, and exits 2 like a stage that cannot start.
  Process alone({build + "/store", (dir / "alone").string()}, dir.path());
  EXPECT_EQ(alone.wait(seconds(10)), 2);
  EXPECT_NE(alone.errors().find("VNAWIRE_STAGE is not set"), std::string::npos) << alone.errors();

  // The SDK acknowledges what the handler stored: the sources' outboxes empty, the stop is clean.
  run_and_expect_every_document_stored(dir, with_exec_sink(dir, "zmq", build + "/store", 1, "acknowledges: true, "),
                                       40);
}

// Without acknowledgements yet (docs/protocol.md), the documents a killed sink had taken in but not stored are
// lost: the program is killed between two batches, when it has reported all it stored.
TEST(CustomSink, AKilledSinkProgramIsStartedAgainAndTheRunStillStoresEveryDocument) {
  TempDir dir;
  write_inbox(dir, 0, 20);
  write_file(dir / "pipeline.yaml", with_exec_sink(dir, "zmq", std::string(kExamples) + "/python/store.py"));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return stored(dir) >= 20 && count_lines(dir / "state/out.jsonl") >= 20; }, seconds(60)))
      << daemon.errors();
  const std::string needle = "python/store.py " + (dir / "records").string();
  const auto before = processes_with(needle);
  ASSERT_EQ(before.size(), 1u);
  std::this_thread::sleep_for(milliseconds(300));  // its heartbeat after the last file (sent within microseconds)
  ::kill(before[0], SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto now = processes_with(needle);
        return now.size() == 1 && now[0] != before[0];
      },
      seconds(20)))
      << daemon.errors();
  write_inbox(dir, 20, 40);
  ASSERT_TRUE(wait_until([&] { return stored(dir) >= 40 && count_lines(dir / "state/out.jsonl") >= 40; }, seconds(60)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_NE(daemon.errors().find("files#0 killed by signal Killed; restarting"), std::string::npos) << daemon.errors();
  EXPECT_NE(daemon.errors().find("files in 40 out 40 restarts 1"), std::string::npos) << daemon.errors();
  expect_the_same_records(dir, 40);
}

TEST(CustomSink, AProgramThatCannotBeRunStopsTheStartWithAClearMessage) {
  TempDir dir;
  write_inbox(dir, 0, 1);
  write_file(dir / "pipeline.yaml", with_exec_sink(dir, "zmq", (dir / "no-such-program").string()));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  EXPECT_EQ(daemon.wait(seconds(30)), 1);
  EXPECT_NE(daemon.errors().find("cannot execute " + (dir / "no-such-program").string()), std::string::npos)
      << daemon.errors();
  EXPECT_NE(daemon.errors().find("stage files#0 exited with code 127 before it was ready"), std::string::npos)
      << daemon.errors();
}

}  // namespace
}  // namespace vnawire::testing
