// CURVE on loopback: a whole pipeline over tcp with encryption and authentication; a stage process whose key is
// not authorized is refused by the daemon and by the stage it reads from, and the refusal is logged.
#include <signal.h>

#include <gtest/gtest.h>

#include "tests/integration/curve_keys.h"
#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kBinary = VNAWIRE_BINARY;

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
