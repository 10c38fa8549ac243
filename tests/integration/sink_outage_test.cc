// Both sinks down for 10 s in the middle of a run: the PostgreSQL server stopped, the webhook receiver answering
// 503. Nothing is lost or stored twice, the source stops at max_in_flight instead of reading on, and no stage
// process grows.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "daemon/replay_server.h"
#include "tests/integration/harness.h"
#include "tests/support/pg_cluster.h"

namespace vnawire::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kOutageDocuments = 600;
constexpr int kMaxInFlight = 100;

long stored_in_postgres(const PgCluster& cluster) {
  try {
    pqxx::connection connection(cluster.dsn());
    pqxx::nontransaction tx(connection);
    return tx.exec1("SELECT count(*) FROM documents")[0].as<long>();
  } catch (const std::exception&) {
    return -1;
  }
}

// How many times the receiver got each id (a POST body is a JSON array of records).
std::map<std::string, int> posted_ids(const replay::ReplayServer& receiver) {
  std::map<std::string, int> ids;
  for (const auto& post : receiver.inbox()) {
    const auto batch = nlohmann::json::parse(post.body, nullptr, false);
    if (!batch.is_array()) continue;
    for (const auto& record : batch) ids[record.value("id", std::string())]++;
  }
  return ids;
}

// The resident memory of a process in kB, 0 when it is gone.
long resident_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

TEST(SinkOutage, TenSecondsWithoutPostgresAndWithA503WebhookLoseNothingAndSlowTheSource) {
  PgCluster cluster;
  if (!cluster.running()) {
    if (cluster.binaries_missing() && std::getenv("CI") == nullptr) GTEST_SKIP() << cluster.error();
    FAIL() << cluster.error();
  }
  TempDir dir;
  std::filesystem::create_directories(dir / "empty");
  replay::ReplaySettings settings;
  settings.directory = dir / "empty";
  // The outage starts with the webhook's first POST; the PostgreSQL server is stopped at the same moment.
  settings.faults.push_back(*replay::parse_fault("status=503@/inbox~10"));
  replay::ReplayServer receiver(settings);
  ASSERT_TRUE(receiver.start());
  write_inbox(dir, 0, kOutageDocuments);
  write_file(dir / "pipeline.yaml",
             "pipeline:\n  state_dir: " + (dir / "state").string() +
                 "\n  flush_interval_ms: 100\n  heartbeat_ms: 200\n  max_in_flight: " + std::to_string(kMaxInFlight) +
                 "\n  ack_timeout_ms: 60000\nstages:\n"
                 "  - name: fetch\n    type: fetch\n    options: {directory: " +
                 (dir / "inbox").string() +
                 ", poll_interval_ms: 100, settle_ms: 50}\n"
                 "  - name: langid\n    type: langid\n    inputs: [fetch]\n"
                 "  - name: extract\n    type: extract\n    inputs: [langid]\n"
                 "  - name: db\n    type: sink_postgres\n    inputs: [extract]\n"
                 "    options: {dsn: '" +
                 cluster.dsn() +
                 "', batch_size: 20, max_waiting: 50, reconnect_min_ms: 50, reconnect_max_ms: 500}\n"
                 "  - name: hook\n    type: sink_webhook\n    inputs: [extract]\n"
                 "    options: {url: '" +
                 receiver.base_url() + "/inbox', batch_size: 10}\n");
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return !receiver.inbox().empty() || receiver.requests_for("/inbox") > 0; }, seconds(60)))
      << daemon.errors();
  ASSERT_TRUE(cluster.stop());
  const auto emitted = dir / "state/fetch/emitted.log";
  const std::size_t emitted_at_start = count_lines(emitted);
  long largest_kb = 0;
  const auto outage_end = std::chrono::steady_clock::now() + seconds(10);
  while (std::chrono::steady_clock::now() < outage_end) {
    for (const pid_t pid : processes_with("--base-dir " + dir.path().string() + " --stage ")) {
      largest_kb = std::max(largest_kb, resident_kb(pid));
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  const std::size_t emitted_in_outage = count_lines(emitted) - emitted_at_start;
  ASSERT_TRUE(cluster.start());
  ASSERT_TRUE(wait_until(
      [&] {
        return stored_in_postgres(cluster) >= kOutageDocuments && posted_ids(receiver).size() >= kOutageDocuments;
      },
      seconds(120)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(60)), 0) << daemon.errors();

  std::printf("outage: %zu document(s) read by fetch in 10 s (max_in_flight %d), largest stage %ld kB resident\n",
              emitted_in_outage, kMaxInFlight, largest_kb);
  EXPECT_LE(emitted_in_outage, static_cast<std::size_t>(kMaxInFlight))
      << "the source read on while the sinks were down";
  EXPECT_LT(emitted_at_start + emitted_in_outage, static_cast<std::size_t>(kOutageDocuments)) << "the run ended before";
  // AddressSanitizer keeps up to 256 MB of freed memory in quarantine and adds shadow memory: a sanitized
  // stage's resident size says little, so the bound is looser there (still far below an unbounded queue).
  EXPECT_LT(largest_kb, (kTimeScale > 1 ? 600 : 200) * 1024) << "a stage grew during the outage";
  EXPECT_EQ(stored_in_postgres(cluster), kOutageDocuments);
  const auto ids = posted_ids(receiver);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kOutageDocuments));
  for (const auto& [id, times] : ids) EXPECT_EQ(times, 1) << id << " posted " << times << " times";
  EXPECT_GT(receiver.requests_for("/inbox"), receiver.inbox().size()) << "the webhook never answered 503";
  for (const char* stage : {"db", "hook"}) {
    EXPECT_EQ(count_lines(dir / "state/deadletter" / (std::string(stage) + ".0.jsonl")), 0u) << stage;
  }
}

}  // namespace
}  // namespace vnawire::testing
