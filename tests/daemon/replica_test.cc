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

}  // namespace
}  // namespace vnawire::daemon
