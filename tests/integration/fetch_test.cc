// The fetch stage against a real replay server process: `vnawire fetch` standalone, and the whole pipeline
// tailing a growing site while its fetch process is killed and restarted.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <regex>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

void write_site(const TempDir& dir, int count) {
  std::filesystem::create_directories(dir / "site");
  for (int n = 0; n < count; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "item-%03d.txt", n);
    write_file(dir / "site" / name, generated_dispatch(n));
  }
}

TEST(Fetch, CommandLineDiscoversASiteAndPrintsEachDispatchOnce) {
  TempDir dir;
  write_site(dir, 12);
  Process replay({kBinary, "replay", "--dir", (dir / "site").string(), "--listen", "127.0.0.1:0"}, dir.path());
  const std::string base = start_replay(replay);
  ASSERT_FALSE(base.empty()) << replay.errors();

  Process refused({kBinary, "fetch", base + "/"}, dir.path());
  EXPECT_EQ(refused.wait(seconds(60)), 1) << refused.errors();
  EXPECT_NE(refused.errors().find("loopback, private or link-local"), std::string::npos) << refused.errors();

  Process fetch({kBinary, "fetch", "--allow-private", base + "/"}, dir.path());
  ASSERT_EQ(fetch.wait(seconds(60)), 0) << fetch.errors();
  std::map<std::string, int> urls;
  std::istringstream lines(fetch.output());
  for (std::string line; std::getline(lines, line);) {
    auto record = nlohmann::json::parse(line);
    urls[record.at("url").get<std::string>()]++;
    EXPECT_EQ(record["fetch"]["http_status"], 200);
  }
  EXPECT_EQ(urls.size(), 12u);
  for (const auto& [url, times] : urls) EXPECT_EQ(times, 1) << url;
  EXPECT_NE(fetch.errors().find("12 document(s)"), std::string::npos) << fetch.errors();
  replay.signal(SIGTERM);
  EXPECT_EQ(replay.wait(seconds(20)), 0);
}

TEST(Fetch, CommandLineFollowKeepsTailingUntilSigterm) {
  TempDir dir;
  write_site(dir, 6);
  // One more file every 200 ms; --follow polls the feed every 100 ms.
  Process replay({kBinary, "replay", "--dir", (dir / "site").string(), "--listen", "127.0.0.1:0", "--every", "0.2"},
                 dir.path());
  const std::string base = start_replay(replay);
  ASSERT_FALSE(base.empty()) << replay.errors();
  Process fetch({kBinary, "fetch", "--follow", "--allow-private", "--interval", "0.1", base + "/rss.xml"}, dir.path());
  auto lines = [&] {
    const std::string out = fetch.output();
    return static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
  };
  ASSERT_TRUE(wait_until([&] { return lines() >= 6; }, seconds(30))) << fetch.errors();
  EXPECT_TRUE(fetch.still_running_after(milliseconds(300))) << "--follow stopped once the site was fetched";
  fetch.signal(SIGTERM);
  EXPECT_EQ(fetch.wait(seconds(20)), 0) << fetch.errors();
  EXPECT_EQ(lines(), 6u);
  replay.signal(SIGTERM);
  EXPECT_EQ(replay.wait(seconds(20)), 0);
}

TEST(Fetch, PipelineTailsAGrowingSiteAndAKilledFetchStageLosesAndRepeatsNothing) {
  TempDir dir;
  constexpr int kItems = 40;
  write_site(dir, kItems);
  // One more file every 100 ms: the site grows while the pipeline runs.
  Process replay({kBinary, "replay", "--dir", (dir / "site").string(), "--listen", "127.0.0.1:0", "--every", "0.1"},
                 dir.path());
  const std::string base = start_replay(replay);
  ASSERT_FALSE(base.empty()) << replay.errors();
  write_file(dir / "pipeline.yaml",
             "pipeline:\n  state_dir: " + (dir / "state").string() +
                 "\n  flush_interval_ms: 100\n  heartbeat_ms: 200\nstages:\n"
                 "  - name: fetch\n    type: fetch\n    options:\n      per_host_interval_ms: 0\n"
                 "      per_host_in_flight: 4\n      sources:\n"
                 "        - {name: replay, kind: site, url: '" +
                 base +
                 "/', interval_ms: 200, allow_private: true}\n"
                 "  - name: dedupe\n    type: dedupe\n    inputs: [fetch]\n"
                 "  - name: out\n    type: sink_jsonl\n    inputs: [dedupe]\n    options: {path: out.jsonl}\n");
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 10; }, seconds(60))) << daemon.errors();
  const std::string needle = "--base-dir " + dir.path().string() + " --stage fetch";
  auto before = processes_with(needle);
  ASSERT_EQ(before.size(), 1u);
  ::kill(before[0], SIGKILL);
  EXPECT_LT(count_lines(sink), static_cast<std::size_t>(kItems)) << "the site was complete before the kill";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= static_cast<std::size_t>(kItems); }, seconds(90)))
      << daemon.errors();
  // A few more polls (every 200 ms): nothing already stored may come again.
  EXPECT_FALSE(wait_until([&] { return count_lines(sink) > static_cast<std::size_t>(kItems); }, milliseconds(1000)));
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  std::map<std::string, int> urls;
  for (const auto& line : read_lines(sink)) urls[nlohmann::json::parse(line).at("url").get<std::string>()]++;
  EXPECT_EQ(urls.size(), static_cast<std::size_t>(kItems));
  for (const auto& [url, times] : urls) EXPECT_EQ(times, 1) << url << " stored more than once";
  EXPECT_NE(daemon.errors().find("fetch#0 killed by signal Killed"), std::string::npos) << daemon.errors();
  replay.signal(SIGTERM);
  EXPECT_EQ(replay.wait(seconds(20)), 0);
}

}  // namespace
}  // namespace vnawire::testing
