// CURVE on loopback: a whole pipeline over tcp with encryption and authentication; a stage process whose key is
// not authorized is refused by the daemon and by the stage it reads from, and the refusal is logged.
#include <signal.h>

#include <gtest/gtest.h>

#include <optional>

#include "tests/integration/curve_keys.h"
#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

std::string curve_pipeline(const TempDir& dir, int base_port, const std::string& host_key,
                           const std::string& state = "state") {
  std::string yaml = whole_pipeline_yaml(
      dir, "",
      "  transport: tcp\n  tcp_base_port: " + std::to_string(base_port) + "\n" + curve_pipeline_lines(dir, host_key));
  const std::string from = "state_dir: " + (dir / "state").string();
  yaml.replace(yaml.find(from), from.size(), "state_dir: " + (dir / state).string());
  return yaml;
}

TEST(CurveTcp, DocumentsFlowOverTcpWithTheRightKeysAndAStageWithAnUnknownKeyIsRefusedAndLogged) {
  TempDir dir;
  ASSERT_TRUE(make_curve_keys(dir, {"host-a"}, {"stranger"}));
  write_inbox(dir, 0, 20);
  const int base = free_port_range(8);
  ASSERT_GT(base, 0);
  write_file(dir / "pipeline.yaml", curve_pipeline(dir, base, "host-a"));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 20; }, seconds(60))) << daemon.errors();

  // The same pipeline, but with a key nobody authorized: a second `out` sink that would read from extract.
  write_file(dir / "stranger.yaml", curve_pipeline(dir, base, "stranger", "stranger-state"));
  Process stranger({kBinary, "stage", "--config", (dir / "stranger.yaml").string(), "--stage", "out", "--replica", "0"},
                   dir.path());
  const std::string key = public_key_of(dir / "keys/stranger.public");
  ASSERT_EQ(key.size(), 40u);
  // Refused by the daemon's control channel and by each extract replica it tries to read from.
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string log = daemon.errors();
        std::size_t refusals = 0;
        for (auto at = log.find(key); at != std::string::npos; at = log.find(key, at + 1)) ++refusals;
        return refusals >= 3;
      },
      seconds(20)))
      << daemon.errors();
  EXPECT_NE(daemon.errors().find("CURVE: refused a client at 127.0.0.1 with key " + key), std::string::npos);
  write_inbox(dir, 20, 30);  // documents that keep coming go to the real sink only
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 30; }, seconds(60))) << daemon.errors();
  stranger.signal(SIGKILL);
  stranger.wait(seconds(5));
  EXPECT_EQ(count_lines(dir / "stranger-state/out.jsonl"), 0u);

  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  const auto urls = stored_urls(sink);
  EXPECT_EQ(urls.size(), 30u);
  for (const auto& [url, times] : urls) EXPECT_EQ(times, 1) << url;
  // The authorized stages were never refused: every refusal logged is the stranger's.
  const std::string log = daemon.errors();
  for (auto at = log.find("CURVE: refused"); at != std::string::npos; at = log.find("CURVE: refused", at + 1)) {
    EXPECT_EQ(log.substr(at, log.find('\n', at) - at).find(key) != std::string::npos, true);
  }
}

// A stage placed on another host (here 127.0.0.1 too, run by a host agent) outlives the main daemon: a daemon
// started again takes its running processes on at their first heartbeat instead of waiting for a READY.
TEST(CurveTcp, ADaemonKilledAndStartedAgainAdoptsTheRemoteReplicasStillRunning) {
  TempDir dir;
  ASSERT_TRUE(make_curve_keys(dir, {"host-a"}));
  write_inbox(dir, 0, 100);
  const int base = free_port_range(8);
  ASSERT_GT(base, 0);
  std::string yaml = curve_pipeline(dir, base, "host-a");
  const std::string extract = "    replicas: 2\n    inputs: [langid]\n";
  yaml.replace(yaml.find(extract), extract.size(), extract + "    host: 127.0.0.1\n");
  yaml.replace(yaml.find("stages:"), 7, "  ack_timeout_ms: 1000\n  max_attempts: 100\nstages:");
  write_file(dir / "pipeline.yaml", yaml);
  Process agent({kBinary, "run", "-c", (dir / "pipeline.yaml").string(), "--host", "127.0.0.1"}, dir.path());
  std::optional<Process> daemon;
  daemon.emplace(std::vector<std::string>{kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 100; }, seconds(60)))
      << daemon->errors() << "\nthe host agent:\n"
      << agent.errors();
  const std::string tag = (dir / "state/run/pipeline.127.0.0.1.yaml").string();
  const std::vector<pid_t> extracts = processes_with(tag);
  ASSERT_EQ(extracts.size(), 2u) << agent.errors();

  daemon->signal(SIGKILL);
  daemon->wait(seconds(10));
  // Its own stages go with it (they may take a moment to flush): the remote ones stay.
  const std::string local = (dir / "state/run/pipeline.yaml").string();
  ASSERT_TRUE(wait_until([&] { return processes_with(local).empty(); }, seconds(10)));
  ASSERT_EQ(processes_with(tag), extracts);
  write_inbox(dir, 100, 200);
  daemon.emplace(std::vector<std::string>{kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return stored_so_far(sink) >= 200; }, seconds(60)))
      << daemon->errors() << "\nthe host agent:\n"
      << agent.errors();
  EXPECT_EQ(processes_with(tag), extracts) << "the remote replicas were restarted, not adopted";
  // Ready means every replica was heard from, the remote ones by their heartbeats alone.
  ASSERT_TRUE(wait_until([&] { return daemon->errors().find("pipeline running") != std::string::npos; }, seconds(20)))
      << daemon->errors();

  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait(seconds(30)), 0) << daemon->errors();
  ASSERT_EQ(agent.wait(seconds(30)), 0) << agent.errors();
  EXPECT_EQ(agent.errors().find("restarting"), std::string::npos) << agent.errors();
  const auto urls = stored_urls(sink);
  EXPECT_EQ(urls.size(), 200u);
  for (const auto& [url, times] : urls) EXPECT_EQ(times, 1) << url;
}

TEST(CurveTcp, KeygenWritesAPairOnceAndRefusesToOverwriteIt) {
  TempDir dir;
  Process first({kBinary, "keygen", "--out", (dir / "k").string(), "--name", "node"}, dir.path());
  ASSERT_EQ(first.wait(seconds(10)), 0) << first.errors();
  EXPECT_EQ(public_key_of(dir / "k/node.public").size(), 40u);
  Process second({kBinary, "keygen", "--out", (dir / "k").string(), "--name", "node"}, dir.path());
  EXPECT_EQ(second.wait(seconds(10)), 1);
  EXPECT_NE(second.errors().find("--force"), std::string::npos) << second.errors();
  Process forced({kBinary, "keygen", "--out", (dir / "k").string(), "--name", "node", "--force"}, dir.path());
  EXPECT_EQ(forced.wait(seconds(10)), 0) << forced.errors();
}

}  // namespace
}  // namespace vnawire::testing
