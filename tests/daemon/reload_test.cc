// What a SIGHUP reload may change live (plan_reload), and when the watchdog's StallWatch calls a pipeline stuck.
#include "daemon/reload.h"

#include <gtest/gtest.h>

#include "daemon/stall_watch.h"
#include "stages/registry.h"

namespace vnawire::daemon {
namespace {

using std::chrono::milliseconds;

runtime::PipelineConfig parse(const std::string& stages, const std::string& pipeline = "") {
  auto loaded =
      runtime::parse_pipeline_config("pipeline: {state_dir: /tmp/vnawire-reload" + pipeline + "}\nstages:\n" + stages,
                                     "test.yaml", "/tmp", stages::find_stage);
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  return loaded.config;
}

const std::string kChain =
    "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
    "  - {name: dedupe, type: dedupe, inputs: [fetch]}\n"
    "  - {name: out, type: sink_jsonl, inputs: [dedupe], options: {path: out.jsonl}}\n";

TEST(ReloadPlan, TheSameConfigChangesNothing) {
  const ReloadPlan plan = plan_reload(parse(kChain), parse(kChain));
  EXPECT_TRUE(plan.ok());
  EXPECT_TRUE(plan.changes_nothing());
}

TEST(ReloadPlan, AnAddedSinkStartsAndItsProducerIsRewired) {
  const ReloadPlan plan =
      plan_reload(parse(kChain),
                  parse(kChain + "  - {name: copy, type: sink_jsonl, inputs: [dedupe], options: {path: c.jsonl}}\n"));
  ASSERT_TRUE(plan.ok()) << plan.refused[0];
  EXPECT_EQ(plan.added, std::vector<std::string>{"copy"});
  EXPECT_EQ(plan.rewired, std::vector<std::string>{"dedupe"});
  EXPECT_TRUE(plan.removed.empty());
}

TEST(ReloadPlan, ARemovedSourceStopsAndItsConsumerIsRewired) {
  const std::string two_sources =
      "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
      "  - {name: more, type: fetch, options: {directory: other}}\n"
      "  - {name: out, type: sink_jsonl, inputs: [fetch, more], options: {path: out.jsonl}}\n";
  const std::string one_source =
      "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
      "  - {name: out, type: sink_jsonl, inputs: [fetch], options: {path: out.jsonl}}\n";
  const ReloadPlan plan = plan_reload(parse(two_sources), parse(one_source));
  ASSERT_TRUE(plan.ok()) << plan.refused[0];
  EXPECT_EQ(plan.removed, std::vector<std::string>{"more"});
  EXPECT_EQ(plan.rewired, std::vector<std::string>{"out"});
}

TEST(ReloadPlan, MiddleStagesOptionsAndPipelineKeysNeedARestart) {
  const std::string no_dedupe =
      "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
      "  - {name: out, type: sink_jsonl, inputs: [fetch], options: {path: out.jsonl}}\n";
  auto refused = [](const ReloadPlan& plan) {
    EXPECT_TRUE(plan.changes_nothing()) << "a refused plan applies nothing";
    return plan.refused.empty() ? std::string("(accepted)") : plan.refused[0];
  };
  EXPECT_EQ(refused(plan_reload(parse(kChain), parse(no_dedupe))),
            "needs a restart: stage 'dedupe' removed, and it is neither a source nor a sink");
  std::string changed = kChain;
  changed.replace(changed.find("out.jsonl"), 9, "new.jsonl");
  EXPECT_EQ(refused(plan_reload(parse(kChain), parse(changed))), "needs a restart: stage 'out' changed its options");
  std::string by_systemd = kChain;
  by_systemd.replace(by_systemd.find("inputs: [fetch]"), 15, "inputs: [fetch], supervised_by: systemd");
  EXPECT_EQ(refused(plan_reload(parse(kChain), parse(by_systemd))),
            "needs a restart: stage 'dedupe' changed its supervised_by");
  EXPECT_EQ(refused(plan_reload(parse(kChain), parse(kChain, ", heartbeat_ms: 300"))),
            "needs a restart: pipeline.heartbeat_ms changed");
  EXPECT_EQ(refused(plan_reload(parse(kChain), parse(kChain, ", acknowledgements: false"))),
            "needs a restart: pipeline.acknowledgements changed");
}

TEST(ReloadPlan, WithoutAcknowledgementsNoStageIsRestartedToRewireIt) {
  const std::string off = ", acknowledgements: false";
  const ReloadPlan plan = plan_reload(
      parse(kChain, off),
      parse(kChain + "  - {name: copy, type: sink_jsonl, inputs: [dedupe], options: {path: c.jsonl}}\n", off));
  ASSERT_EQ(plan.refused.size(), 1u);
  EXPECT_NE(plan.refused[0].find("acknowledgements are off"), std::string::npos) << plan.refused[0];
}

Replica ready_replica(const std::string& stage, Clock::time_point last_seen) {
  Replica replica;
  replica.stage = stage;
  replica.identity = stage + "#0";
  replica.pid = 1234;
  replica.state = ReplicaState::Ready;
  replica.last_seen = last_seen;
  return replica;
}

TEST(StallWatch, AStageWithWorkWaitingAndNoMovementForTheWindowIsStuckAndAnIdleOneNever) {
  StallWatch watch(milliseconds(1000));
  const auto start = Clock::now();
  PipelineTotals totals;
  totals.stages["out"].received = 5;
  // Heard from all along: only the counts matter here.
  std::vector<Replica> replicas{ready_replica("out", start + milliseconds(10000))};
  // Idle: everything sent to it arrived.
  EXPECT_EQ(watch.check(totals, {{"out", 5}}, true, replicas, start), "");
  EXPECT_EQ(watch.check(totals, {{"out", 5}}, true, replicas, start + milliseconds(1500)), "");
  // Three more were sent and none arrives.
  EXPECT_EQ(watch.check(totals, {{"out", 8}}, true, replicas, start + milliseconds(1500)), "");
  EXPECT_EQ(watch.check(totals, {{"out", 8}}, true, replicas, start + milliseconds(2400)), "");
  EXPECT_EQ(watch.check(totals, {{"out", 8}}, true, replicas, start + milliseconds(2600)),
            "out has documents waiting and handled none for 1100 ms");
  // One arrives: progress again.
  totals.stages["out"].received = 6;
  EXPECT_EQ(watch.check(totals, {{"out", 8}}, true, replicas, start + milliseconds(2600)), "");
  // Two copies were lost with a killed replica, sent again and acknowledged: nothing is outstanding.
  EXPECT_EQ(watch.check(totals, {{"out", 8}}, false, replicas, start + milliseconds(5000)), "");
}

TEST(StallWatch, AReadyReplicaSilentForTheWindowIsStuck) {
  StallWatch watch(milliseconds(1000));
  const auto start = Clock::now();
  std::vector<Replica> replicas{ready_replica("out", start)};
  EXPECT_EQ(watch.check({}, {}, true, replicas, start + milliseconds(900)), "");
  EXPECT_EQ(watch.check({}, {}, true, replicas, start + milliseconds(1200)), "out#0 sent nothing for 1200 ms");
  replicas[0].state = ReplicaState::Backoff;  // crashed and waiting for its restart: not hung
  EXPECT_EQ(watch.check({}, {}, true, replicas, start + milliseconds(1200)), "");
}

}  // namespace
}  // namespace vnawire::daemon
