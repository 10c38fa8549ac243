// The whole pipeline into PostgreSQL, as real processes, with the server restarted in the middle of the run.
#include <signal.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <pqxx/pqxx>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/support/pg_cluster.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

// The number of documents stored, or -1 while the server cannot answer.
long stored_documents(const PgCluster& cluster) {
  try {
    pqxx::connection connection(cluster.dsn());
    pqxx::nontransaction tx(connection);
    return tx.exec1("SELECT count(DISTINCT record->>'url') FROM documents")[0].as<long>();
  } catch (const std::exception&) {
    return -1;
  }
}

TEST(PipelinePostgres, AServerRestartedMidRunLosesNothingAndEachDocumentIsStoredOnce) {
  PgCluster cluster;
  if (!cluster.running()) {
    if (cluster.binaries_missing() && std::getenv("CI") == nullptr) GTEST_SKIP() << cluster.error();
    FAIL() << cluster.error();
  }
  TempDir dir;
  write_inbox(dir, 0, 200);
  // A slow source so that the outage lands mid-stream (slower still in a sanitized build, whose sinks start later).
  write_file(dir / "pipeline.yaml",
             "pipeline:\n  state_dir: " + dir.path().string() +
                 "/state\n  flush_interval_ms: 100\n  heartbeat_ms: 200\n"
                 "stages:\n"
                 "  - name: fetch\n    type: fetch\n    options: {directory: " +
                 dir.path().string() + "/inbox, poll_interval_ms: 100, settle_ms: 50, max_docs_per_second: " +
                 std::to_string(60 / kTimeScale) +
                 "}\n"
                 "  - name: langid\n    type: langid\n    inputs: [fetch]\n"
                 "  - name: extract\n    type: extract\n    inputs: [langid]\n"
                 "  - name: db\n    type: sink_postgres\n    replicas: 2\n    inputs: [extract]\n"
                 "    options: {dsn: '" +
                 cluster.dsn() + "', batch_size: 20, reconnect_min_ms: 50, reconnect_max_ms: 500}\n");
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return stored_documents(cluster) >= 20; }, seconds(60))) << daemon.errors();
  ASSERT_TRUE(cluster.stop());
  const std::size_t emitted_before = count_lines(dir / "state/fetch/emitted.log");
  std::this_thread::sleep_for(seconds(2));  // documents keep coming and wait in the sinks
  EXPECT_GT(count_lines(dir / "state/fetch/emitted.log"), emitted_before) << "the source stopped during the outage";
  ASSERT_TRUE(cluster.start());
  ASSERT_TRUE(wait_until([&] { return stored_documents(cluster) >= 200; }, seconds(90))) << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_EQ(stored_documents(cluster), 200);
  pqxx::connection connection(cluster.dsn());
  pqxx::nontransaction tx(connection);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM documents")[0].as<long>(), 200) << "one row per document";
  EXPECT_EQ(tx.exec1("SELECT max(version) FROM documents")[0].as<long>(), 1);
  EXPECT_EQ(count_lines(dir / "state/deadletter/db.0.jsonl") + count_lines(dir / "state/deadletter/db.1.jsonl"), 0u);
  EXPECT_NE(daemon.errors().find("cannot write to PostgreSQL"), std::string::npos) << "the outage is logged";
}

}  // namespace
}  // namespace vnawire::testing
