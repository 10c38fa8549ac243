// What the supervisor counts for a replica across crashes and restarts, whatever order the exit and the
// replica's last messages are seen in.
#include "daemon/replica.h"

#include <gtest/gtest.h>

namespace vnawire::daemon {
namespace {

Counts handled(std::uint64_t n) {
  Counts counts;
  counts.received = counts.forwarded = n;
  counts.counters["stored"] = n;
  return counts;
}

StageTotals totals_of(const Replica& replica) {
  StageTotals totals;
  replica.add_to(totals);
  return totals;
}

TEST(Replica, AHeartbeatReadAfterTheCrashWasReapedIsCountedOnce) {
  Replica replica;
  const auto now = Clock::now();
  replica.begin_incarnation(100, now);
  replica.report(runtime::kReady, handled(0), false);
  replica.report(runtime::kHeartbeat, handled(5), false);
  // SIGCHLD is handled before the control channel is read: the exit comes first, its last heartbeat after.
  replica.ended(now);
  replica.crashed(now);
  replica.report(runtime::kHeartbeat, handled(7), false);
  EXPECT_EQ(totals_of(replica).received, 7u) << "while the replica waits for its restart";
  EXPECT_EQ(totals_of(replica).counters["stored"], 7u);
  replica.begin_incarnation(200, now);
  EXPECT_EQ(totals_of(replica).received, 7u) << "once restarted";
  replica.report(runtime::kHeartbeat, handled(3), false);
  EXPECT_EQ(totals_of(replica).received, 10u);
  EXPECT_EQ(totals_of(replica).forwarded, 10u);
  EXPECT_EQ(totals_of(replica).restarts, 1u);
}

// Process `pid` runs the replica, reports `n` documents handled, and is killed.
void run_and_crash(Replica& replica, pid_t pid, std::uint64_t n) {
  const auto now = Clock::now();
  replica.begin_incarnation(pid, now);
  replica.report(runtime::kHeartbeat, handled(n), false);
  replica.ended(now);
  replica.crashed(now);
}

TEST(Replica, TwoCrashesInARowKeepWhatEachIncarnationReported) {
  Replica replica;
  run_and_crash(replica, 100, 4);
  run_and_crash(replica, 200, 2);
  replica.begin_incarnation(300, Clock::now());
  EXPECT_EQ(totals_of(replica).received, 6u);
  EXPECT_EQ(totals_of(replica).restarts, 2u);
}

TEST(Replica, AReportOfThePreviousProcessReadAfterTheRestartStillCounts) {
  Replica replica;
  run_and_crash(replica, 100, 4);
  replica.begin_incarnation(200, Clock::now());
  // Process 100's last heartbeat (cumulative: 9) is read only now; read twice, it counts once.
  replica.late_report(handled(9));
  replica.late_report(handled(9));
  replica.report(runtime::kHeartbeat, handled(1), false);
  EXPECT_EQ(totals_of(replica).received, 10u);
  EXPECT_EQ(totals_of(replica).counters["stored"], 10u);
}

TEST(Replica, MeasuresAreCarriedAcrossRestartsAndKeptPerReplica) {
  auto measured = [](std::uint64_t n, const std::string& last, std::int64_t when) {
    Counts counts = handled(n);
    counts.measures.latency_buckets[2] = n;
    counts.measures.latency_sum_us = 300 * n;
    counts.measures.errors["decode"] = n;
    counts.measures.dropped_by["duplicate"] = n;
    counts.measures.last_id = last;
    counts.measures.last_time_ms = when;
    return counts;
  };
  Replica replica;
  const auto now = Clock::now();
  replica.begin_incarnation(100, now);
  replica.report(runtime::kHeartbeat, measured(4, "a", 1000), false);
  replica.ended(now);
  replica.crashed(now);
  replica.begin_incarnation(200, now);
  replica.late_report(measured(5, "b", 2000));  // the first process's last word, read after the restart
  replica.report(runtime::kHeartbeat, measured(2, "c", 3000), false);
  replica.state = ReplicaState::Ready;
  const StageTotals totals = totals_of(replica);
  EXPECT_EQ(totals.measures.latency_buckets[2], 7u);
  EXPECT_EQ(totals.measures.latency_sum_us, 2100u);
  EXPECT_EQ(totals.measures.errors.at("decode"), 7u);
  EXPECT_EQ(totals.measures.dropped_by.at("duplicate"), 7u);
  EXPECT_EQ(totals.measures.last_id, "c");
  ASSERT_EQ(totals.replicas.size(), 1u);
  EXPECT_EQ(totals.replicas[0].received, 7u);
  EXPECT_EQ(totals.replicas[0].restarts, 1u);
  EXPECT_EQ(totals.replicas[0].state, "ready");
  EXPECT_EQ(totals.replicas[0].pid, 200);
  EXPECT_EQ(totals.replicas_ready, 1);
}

TEST(Replica, MeasuresAreReadFromAReportBodyAndMissingOnesStayEmpty) {
  const Counts counts = Counts::from_json(nlohmann::json::parse(R"({"received": 3, "latency": {"buckets": [1, 2],
      "sum_us": 40}, "errors": {"decode": 1, "bad": -1}, "dropped_by": {"duplicate": 2}, "replays": 1,
      "last": {"id": "x", "time_ms": 5}})"));
  EXPECT_EQ(counts.measures.latency_buckets[0], 1u);
  EXPECT_EQ(counts.measures.latency_buckets[1], 2u);
  EXPECT_EQ(counts.measures.latency_buckets[2], 0u);
  EXPECT_EQ(counts.measures.latency_sum_us, 40u);
  EXPECT_EQ(counts.measures.errors, (std::map<std::string, std::uint64_t>{{"decode", 1}}));
  EXPECT_EQ(counts.measures.replays, 1u);
  EXPECT_EQ(counts.measures.last_id, "x");
  const Counts bare = Counts::from_json(nlohmann::json::parse(R"({"received": 3})"));
  EXPECT_EQ(bare.measures.latency_sum_us, 0u);
  EXPECT_TRUE(bare.measures.errors.empty());
}

}  // namespace
}  // namespace vnawire::daemon
