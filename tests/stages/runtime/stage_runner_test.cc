// The stage main loop, run in this process: the message size limit, send timeouts on a fan-out, what a
// source is told about documents given up, and the exit code after a failed last flush.
#include <gtest/gtest.h>

#include <functional>
#include <thread>
#include <vector>

#include "stages/runtime/codec.h"
#include "tests/stages/runner_fixture.h"

namespace vnawire::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::document_of_size;
using testing::receive_header;
using testing::RunnerFixture;
using testing::source_script;

constexpr const char* kSourceWithTwoConsumers =
    "  - {name: src, type: scripted_source, send_timeout_ms: 500}\n"
    "  - {name: a, type: sink_jsonl, inputs: [src]}\n"
    "  - {name: b, type: sink_jsonl, inputs: [src]}\n";

TEST(StageRunner, ADocumentOverTheMessageLimitIsDeadLetteredBeforeSendingAndItsSourceTold) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: out, type: sink_jsonl, inputs: [src]}\n",
      "max_message_bytes: 65536");
  fixture.start("src");
  auto consumer = fixture.consumer("src", "out");
  const Document big = document_of_size("big", 100000);
  const Frames frames = encode(big);
  const std::size_t encoded = frames.header.size() + frames.payload.size();
  source_script().emit(big);
  source_script().emit(document_of_size("small", 1000));

  EXPECT_EQ(receive_header(consumer), "VNAW 1 0 - small");
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == 1; }, seconds(10)));
  const std::string reason = "the encoded document is " + std::to_string(encoded) +
                             " bytes, over the 65536-byte message limit (pipeline.max_message_bytes)";
  EXPECT_EQ(fixture.dead_letters(), std::vector<std::string>{"big: " + reason});
  EXPECT_EQ(fixture.counter("too_large"), 1u);
  EXPECT_EQ(fixture.counters().value("dead_lettered", 0), 1);
  EXPECT_EQ(source_script().abandoned_ids(), std::vector<std::string>{"big: " + reason});
  EXPECT_EQ(source_script().sent_ids(), std::vector<std::string>{"small"});
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunner, ADocumentSomeConsumersTookIsNotDeadLetteredWhenTheOthersAreLate) {
  RunnerFixture fixture(kSourceWithTwoConsumers);
  fixture.start("src");
  auto a = fixture.consumer("src", "a");  // b is not there yet
  source_script().emit(document_of_size("x", 100));
  EXPECT_EQ(receive_header(a), "VNAW 1 0 - x");
  // The send timeout has passed once the runtime counts the late consumer, or dead-letters the document.
  ASSERT_TRUE(fixture.wait_for(
      [&](const nlohmann::json& c) {
        return fixture.counter("send_timeout_partly_delivered") == 1 || c.value("dead_lettered", 0) > 0;
      },
      seconds(10)));
  EXPECT_EQ(fixture.counters().value("dead_lettered", 0), 0);
  EXPECT_TRUE(fixture.dead_letters().empty());
  EXPECT_TRUE(source_script().abandoned_ids().empty());

  auto b = fixture.consumer("src", "b");
  EXPECT_EQ(receive_header(b), "VNAW 1 0 - x") << "the late consumer gets the document once it comes";
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == 1; }, seconds(10)));
  EXPECT_EQ(source_script().sent_ids(), std::vector<std::string>{"x"});
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunner, ADocumentNoConsumerTookIsDeadLetteredAfterTheSendTimeoutAndItsSourceTold) {
  RunnerFixture fixture(kSourceWithTwoConsumers);
  fixture.start("src");
  source_script().emit(document_of_size("lonely", 100));
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("dead_lettered", 0) == 1; }, seconds(10)));
  const std::string reason = "downstream did not take the document within send_timeout_ms";
  EXPECT_EQ(fixture.dead_letters(), std::vector<std::string>{"lonely: " + reason});
  EXPECT_EQ(source_script().abandoned_ids(), std::vector<std::string>{"lonely: " + reason});
  EXPECT_TRUE(source_script().sent_ids().empty());
  EXPECT_EQ(fixture.stop(), 0);
}

// Documents queued together (a source's produce(), a processor's input batch) wait behind one another; while
// downstream keeps taking them, none may time out for the waits of those before it. Sixteen documents of 1 MB
// against room for a few, taken one every 250 ms: the last ones are sent well over the 2 s send timeout after
// they were queued, but never more than 250 ms after downstream last took one.
TEST(StageRunner, DocumentsQueuedTogetherTimeOutOnlyWhenDownstreamStopsTakingThem) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source, send_timeout_ms: 2000, hwm: 1}\n"
      "  - {name: out, type: sink_jsonl, inputs: [src]}\n");
  fixture.start("src");
  zmq::socket_t consumer(fixture.context(), zmq::socket_type::pull);
  consumer.set(zmq::sockopt::linger, 0);
  consumer.set(zmq::sockopt::rcvhwm, 1);
  consumer.set(zmq::sockopt::rcvtimeo, 20000);
  consumer.set(zmq::sockopt::maxmsgsize, fixture.config().pipeline.get_int("max_message_bytes"));
  consumer.connect(runtime::output_endpoint(fixture.config(), "src", 0, "out"));
  constexpr int kDocuments = 16;
  for (int i = 0; i < kDocuments; ++i) source_script().emit(document_of_size("d" + std::to_string(i), 1 << 20));
  std::vector<std::string> received;
  for (int i = 0; i < kDocuments; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    received.push_back(receive_header(consumer));
  }
  std::vector<std::string> expected;
  for (int i = 0; i < kDocuments; ++i) expected.push_back("VNAW 1 0 - d" + std::to_string(i));
  EXPECT_EQ(received, expected);
  EXPECT_TRUE(fixture.dead_letters().empty());
  EXPECT_TRUE(source_script().abandoned_ids().empty());
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunner, AtTheStopDeadlineAPartlyDeliveredDocumentIsAbandonedNotDeadLettered) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: a, type: sink_jsonl, inputs: [src]}\n"
      "  - {name: b, type: sink_jsonl, inputs: [src]}\n",
      "drain_timeout_ms: 300");
  fixture.start("src");
  auto a = fixture.consumer("src", "a");
  source_script().emit(document_of_size("half", 100));
  EXPECT_EQ(receive_header(a), "VNAW 1 0 - half");
  EXPECT_EQ(fixture.stop(), 0);
  EXPECT_TRUE(fixture.dead_letters().empty());
  EXPECT_EQ(source_script().abandoned_ids(),
            std::vector<std::string>{"half: stopping: b did not take the document before the drain timeout"});
  EXPECT_TRUE(source_script().sent_ids().empty());
}

TEST(StageRunner, ADocumentPendingAtStopWaitsForItsConsumerUntilTheDrainTimeout) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: out, type: sink_jsonl, inputs: [src]}\n");
  fixture.start("src");
  source_script().emit(document_of_size("waiting", 100));
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("pending", 0) == 1; }, seconds(10)));
  fixture.ask_to_stop();
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("pending", 0) == 1; }, seconds(10)));
  auto consumer = fixture.consumer("src", "out");  // comes during the drain
  EXPECT_EQ(receive_header(consumer), "VNAW 1 0 - waiting");
  EXPECT_EQ(fixture.stop(), 0);
  EXPECT_TRUE(fixture.dead_letters().empty());
  EXPECT_EQ(source_script().sent_ids(), std::vector<std::string>{"waiting"});
}

TEST(StageRunner, ASinkReportsADocumentStoredOnlyOnceItsBatchIsFlushed) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: sink, type: batching_sink, inputs: [src]}\n",
      "flush_interval_ms: 600000");  // no periodic flush during the test: only the reports can cause one
  testing::BatchingSink::stored() = 0;
  auto producer = fixture.producer("src", "sink");
  fixture.start("sink");
  for (int i = 0; i < 3; ++i) testing::send_document(producer, document_of_size("d" + std::to_string(i), 10));
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == 3; }, seconds(10)));
  EXPECT_EQ(testing::BatchingSink::stored().load(), 3) << "reported stored before its batch was flushed";
  EXPECT_EQ(fixture.stop(), 0);
}

// At idle a sink's finished work is reported, and so committed, at once; unless the sink says it holds it
// (a busy stream's young transaction): then the next flush or heartbeat commits it, not the idle report.
TEST(StageRunner, AnIdleSinkThatHoldsItsBatchIsNotMadeToCommitItByTheIdleReport) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: sink, type: holding_sink, inputs: [src]}\n",
      "flush_interval_ms: 600000, heartbeat_ms: 60000");  // neither timer comes during the test
  testing::HoldingSink::hold() = false;
  testing::HoldingSink::received() = 0;
  testing::HoldingSink::stored() = 0;
  auto producer = fixture.producer("src", "sink");
  fixture.start("sink");
  const auto pump_until = [&](const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) fixture.pump(milliseconds(10));
    return done();
  };
  // Not holding: the idle report commits the batch without anyone asking for counts.
  for (int i = 0; i < 3; ++i) testing::send_document(producer, document_of_size("a" + std::to_string(i), 10));
  ASSERT_TRUE(
      pump_until([&] { return testing::HoldingSink::stored() == 3 && fixture.counters().value("forwarded", 0) == 3; }));
  // Holding: taken in, reported by nobody, committed by nobody, until the stop's last flush.
  testing::HoldingSink::hold() = true;
  for (int i = 0; i < 3; ++i) testing::send_document(producer, document_of_size("b" + std::to_string(i), 10));
  ASSERT_TRUE(pump_until([] { return testing::HoldingSink::received() == 6; }));
  const int asked = testing::HoldingSink::idle_calls();
  fixture.pump(milliseconds(300));
  EXPECT_EQ(testing::HoldingSink::stored().load(), 3) << "the idle report committed a held batch";
  EXPECT_EQ(fixture.counters().value("forwarded", 0), 3) << "documents reported stored before their commit";
  EXPECT_GE(testing::HoldingSink::idle_calls() - asked, 3) << "a holding sink is asked again while its input is empty";
  // The sink lets go (its own limit passed): committed and reported without a flush, a heartbeat or a stop.
  testing::HoldingSink::hold() = false;
  EXPECT_TRUE(
      pump_until([&] { return testing::HoldingSink::stored() == 6 && fixture.counters().value("forwarded", 0) == 6; }));
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunner, AHeldBatchIsCommittedAndReportedByTheNextFlush) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: sink, type: holding_sink, inputs: [src]}\n",
      "flush_interval_ms: 200, heartbeat_ms: 60000");
  testing::HoldingSink::hold() = true;
  testing::HoldingSink::received() = 0;
  testing::HoldingSink::stored() = 0;
  auto producer = fixture.producer("src", "sink");
  fixture.start("sink");
  for (int i = 0; i < 3; ++i) testing::send_document(producer, document_of_size("h" + std::to_string(i), 10));
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (!(testing::HoldingSink::stored() == 3 && fixture.counters().value("forwarded", 0) == 3) &&
         std::chrono::steady_clock::now() < deadline) {
    fixture.pump(milliseconds(10));
  }
  EXPECT_EQ(testing::HoldingSink::stored().load(), 3);
  EXPECT_EQ(fixture.counters().value("forwarded", 0), 3) << "the flush committed the held batch; its report follows";
  testing::HoldingSink::hold() = false;
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunner, AFailedLastFlushMakesTheStageExitOne) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: sink, type: failing_flush, inputs: [src]}\n");
  fixture.start("sink");
  EXPECT_EQ(fixture.stop(), 1);
}

}  // namespace
}  // namespace vnawire::runtime
