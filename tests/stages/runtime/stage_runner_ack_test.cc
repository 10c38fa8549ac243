// Acknowledgements in the stage main loop: the source's outbox, sends again and dead letters after
// max_attempts, the reports of a processor and a sink, and back-pressure from unacknowledged documents.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "stages/runtime/ack.h"
#include "stages/runtime/codec.h"
#include "tests/stages/runner_fixture.h"

namespace vnawire::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::document_of_size;
using testing::RunnerFixture;
using testing::source_script;

constexpr const char* kSourceAndSink =
    "  - {name: src, type: scripted_source}\n"
    "  - {name: out, type: sink_jsonl, inputs: [src]}\n";

struct Received {
  Header header;
  std::string payload;
};

Received receive(zmq::socket_t& socket) {
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(socket, std::back_inserter(frames)) || frames.size() != 2) return {};
  auto header = decode_header(frames[0].to_string_view());
  return {header ? header.value() : Header{}, frames[1].to_string()};
}

std::uint64_t hex(const nlohmann::json& value) { return *parse_token_hex(value.get<std::string>()); }

TEST(StageRunnerAcks, ASourceKeepsWhatItSentUntilTheDaemonSaysEveryCopyIsFinished) {
  RunnerFixture fixture(kSourceAndSink, "acknowledgements: true");
  fixture.start("src");
  auto consumer = fixture.consumer("src", "out");
  source_script().emit(document_of_size("tracked", 100));
  const Received copy = receive(consumer);
  ASSERT_EQ(copy.header.id, "tracked");
  const auto token = parse_ack(copy.header.ack);
  ASSERT_TRUE(token) << "a tracked document carries its token";
  EXPECT_EQ(token->origin, "src#0");
  // The source reports its root with the edge it handed out.
  ASSERT_TRUE(fixture.wait_for([&](const nlohmann::json&) { return !fixture.acks().empty(); }, seconds(10)));
  const auto& report = fixture.acks().front();
  EXPECT_EQ(report[0], "src#0");
  EXPECT_EQ(hex(report[1]), token->root);
  EXPECT_EQ(hex(report[2]), token->edge);
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("in_flight", 0) == 1; }, seconds(10)));
  fixture.send_done({token_hex(token->root)});
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("in_flight", 1) == 0; }, seconds(10)));
  EXPECT_EQ(fixture.counter("acknowledged"), 1u);
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunnerAcks, AnUnacknowledgedDocumentIsSentAgainThenDeadLetteredWithItsHistory) {
  RunnerFixture fixture(kSourceAndSink, "acknowledgements: true, ack_timeout_ms: 200, max_attempts: 3");
  fixture.start("src");
  auto consumer = fixture.consumer("src", "out");
  source_script().emit(document_of_size("lost", 100));
  std::vector<Received> sends;
  for (int i = 0; i < 3; ++i) sends.push_back(receive(consumer));
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sends[i].header.id, "lost");
    EXPECT_EQ(sends[i].header.attempt, i) << "each send counts one more attempt";
    EXPECT_EQ(sends[i].payload, sends[0].payload);
  }
  EXPECT_NE(parse_ack(sends[1].header.ack)->root, parse_ack(sends[0].header.ack)->root) << "a new root per send";
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("dead_lettered", 0) == 1; }, seconds(10)));
  const auto letters = fixture.dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].rfind("lost: not acknowledged after 3 send(s): first sent ", 0), 0u) << letters[0];
  EXPECT_EQ(fixture.counter("resent_unacknowledged"), 2u);
  EXPECT_EQ(fixture.counter("dead_lettered_unacknowledged"), 1u);
  EXPECT_EQ(fixture.counters().value("in_flight", 1), 0);
  EXPECT_EQ(source_script().sent_ids(), std::vector<std::string>{"lost"}) << "the stage hears of the first send only";
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunnerAcks, ARestartedSourceSendsAgainWhatWasNotAcknowledged) {
  RunnerFixture fixture(kSourceAndSink, "acknowledgements: true, ack_timeout_ms: 300, drain_timeout_ms: 400");
  fixture.start("src");
  {
    auto consumer = fixture.consumer("src", "out");
    source_script().emit(document_of_size("survivor", 100));
    EXPECT_EQ(receive(consumer).header.attempt, 0u);
  }
  // Stopped without its acknowledgement: the outbox keeps it.
  EXPECT_EQ(fixture.stop(), 0);
  EXPECT_EQ(fixture.counters().value("in_flight", 0), 1);
  fixture.start("src");
  auto consumer = fixture.consumer("src", "out");
  const Received again = receive(consumer);
  EXPECT_EQ(again.header.id, "survivor");
  EXPECT_EQ(again.header.attempt, 1u);
  fixture.send_done({token_hex(parse_ack(again.header.ack)->root)});
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("in_flight", 1) == 0; }, seconds(10)));
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunnerAcks, ASourceStopsProducingAtMaxInFlightUntilAcknowledgementsCome) {
  RunnerFixture fixture(kSourceAndSink,
                        "acknowledgements: true, max_in_flight: 5, ack_timeout_ms: 600000, drain_timeout_ms: 1000");
  fixture.start("src");
  auto consumer = fixture.consumer("src", "out");
  for (int i = 0; i < 8; ++i) source_script().emit(document_of_size("d" + std::to_string(i), 10));
  std::vector<std::uint64_t> roots;
  for (int i = 0; i < 5; ++i) roots.push_back(parse_ack(receive(consumer).header.ack)->root);
  consumer.set(zmq::sockopt::rcvtimeo, 500);
  std::vector<zmq::message_t> frames;
  EXPECT_FALSE(zmq::recv_multipart(consumer, std::back_inserter(frames))) << "a sixth document went out";
  fixture.send_done({token_hex(roots[0]), token_hex(roots[1])});
  consumer.set(zmq::sockopt::rcvtimeo, 10000);
  EXPECT_EQ(receive(consumer).header.id, "d5");
  EXPECT_EQ(receive(consumer).header.id, "d6");
  frames.clear();
  consumer.set(zmq::sockopt::rcvtimeo, 500);
  EXPECT_FALSE(zmq::recv_multipart(consumer, std::back_inserter(frames)));
}

// Documents that leave together in a batch each carry their own token, and each is finished on its own.
TEST(StageRunnerAcks, EachDocumentOfABatchCarriesItsOwnToken) {
  RunnerFixture fixture(kSourceAndSink, "acknowledgements: true, batch_documents: 16");
  // All three queued before the source starts, so one produce() emits them together.
  for (int i = 0; i < 3; ++i) source_script().emit(document_of_size("b" + std::to_string(i), 10));
  fixture.start("src");
  // Connected once the three are waiting: they leave together.
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("pending", 0) == 3; }, seconds(10)));
  auto consumer = fixture.consumer("src", "out");
  std::vector<zmq::message_t> frames;
  ASSERT_TRUE(zmq::recv_multipart(consumer, std::back_inserter(frames)));
  ASSERT_EQ(frames.size(), 2u);
  ASSERT_EQ(frames[0].to_string(), "VNAB 1 3");
  const Batch batch = decode_batch(frames[0].to_string_view(), frames[1].to_string_view());
  ASSERT_EQ(batch.entries.size(), 3u) << batch.error;
  std::vector<std::string> roots;
  for (std::size_t i = 0; i < 3; ++i) {
    auto header = decode_header(batch.entries[i].header);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->id, "b" + std::to_string(i));
    const auto token = parse_ack(header->ack);
    ASSERT_TRUE(token);
    roots.push_back(token_hex(token->root));
  }
  EXPECT_EQ(std::set<std::string>(roots.begin(), roots.end()).size(), 3u) << "one root per document";
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("in_flight", 0) == 3; }, seconds(10)));
  fixture.send_done({roots[0], roots[2]});
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("in_flight", 0) == 1; }, seconds(10)));
  fixture.send_done({roots[1]});
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("in_flight", 1) == 0; }, seconds(10)));
  EXPECT_EQ(fixture.counter("acknowledged"), 3u);
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunnerAcks, AProcessorReportsTheEdgeItTookXoredWithTheEdgesItHandedOn) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: lang, type: langid, inputs: [src]}\n"
      "  - {name: out, type: sink_jsonl, inputs: [lang]}\n",
      "acknowledgements: true");
  fixture.start("lang");
  auto input = fixture.producer("src", "lang");
  auto output = fixture.consumer("lang", "out");
  Document document{Header{"p1", 0, "", "src#0/00000000000000aa/00000000000000bb"},
                    {{"id", "p1"},
                     {"content_type", "text/plain"},
                     {"body", "Le gouvernement a adopté hier un nouveau plan pour les provinces du centre du pays."}}};
  testing::send_document(input, document);
  const Received copy = receive(output);
  const auto token = parse_ack(copy.header.ack);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->origin, "src#0");
  EXPECT_EQ(token->root, 0xaaU);
  EXPECT_NE(token->edge, 0xbbU);
  ASSERT_TRUE(fixture.wait_for([&](const nlohmann::json&) { return !fixture.acks().empty(); }, seconds(10)));
  EXPECT_EQ(hex(fixture.acks()[0][2]), 0xbbU ^ token->edge);
  EXPECT_EQ(fixture.stop(), 0);
}

// What waits in a processor's input is taken as a batch: handed on in order, and its acknowledgements
// reported in one message, not one per document (per document, the reports and the counts announced
// before each send cost the pipeline more than some stages' own work).
TEST(StageRunnerAcks, DocumentsWaitingInTheInputAreHandedOnInOrderAndReportedInOneMessage) {
  testing::GatedProcessor::reset();
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: gate, type: gated_processor, inputs: [src]}\n"
      "  - {name: out, type: sink_jsonl, inputs: [gate]}\n",
      "acknowledgements: true");
  fixture.start("gate");
  auto input = fixture.producer("src", "gate");
  auto output = fixture.consumer("gate", "out");
  constexpr int kDocuments = 20;
  for (int i = 0; i < kDocuments; ++i) {
    Document document = document_of_size("d" + std::to_string(i), 200);
    document.header.ack =
        "src#0/" + token_hex(0x100U + static_cast<unsigned>(i)) + "/" + token_hex(0x200U + static_cast<unsigned>(i));
    testing::send_document(input, document);
  }
  std::this_thread::sleep_for(milliseconds(300));  // the first is held; the others reach the stage's input
  testing::GatedProcessor::gate() = true;
  for (int i = 0; i < kDocuments; ++i) EXPECT_EQ(receive(output).header.id, "d" + std::to_string(i));
  ASSERT_TRUE(
      fixture.wait_for([&](const nlohmann::json&) { return fixture.acks().size() == kDocuments; }, seconds(10)));
  EXPECT_LE(fixture.ack_messages(), 3u) << "the first document's report, then the batch's";
  std::set<std::uint64_t> roots;
  for (const auto& report : fixture.acks()) roots.insert(hex(report[1]));
  EXPECT_EQ(roots.size(), static_cast<std::size_t>(kDocuments));
  EXPECT_EQ(fixture.stop(), 0);
}

// A scripted source, the gated processor and a JSON Lines sink.
constexpr const char* kGatedPipeline =
    "  - {name: src, type: scripted_source}\n"
    "  - {name: gate, type: gated_processor, inputs: [src]}\n"
    "  - {name: out, type: sink_jsonl, inputs: [gate]}\n";

// Starts the gated processor, sends it `count` documents (<prefix>0, <prefix>1, ...) while the gate holds
// the first, so that the others wait in its input, opens the gate and expects them all out, in order.
void pass_behind_the_gate(RunnerFixture& fixture, const std::string& prefix, int count) {
  fixture.start("gate");
  auto input = fixture.producer("src", "gate");
  auto output = fixture.consumer("gate", "out");
  for (int i = 0; i < count; ++i) testing::send_document(input, document_of_size(prefix + std::to_string(i), 200));
  std::this_thread::sleep_for(milliseconds(300));
  testing::GatedProcessor::gate() = true;
  for (int i = 0; i < count; ++i) EXPECT_EQ(receive(output).header.id, prefix + std::to_string(i));
}

// With documents waiting, the stage is shown the next one (Stage::upcoming) before it handles the current
// one, so that it may start the next one's memory reads; each is still handled once, in order, and one
// that asks for a retry holds the one shown after it until it passes.
TEST(StageRunnerAcks, AStageIsShownTheNextWaitingDocumentBeforeItHandlesTheCurrentOne) {
  testing::GatedProcessor::reset();
  testing::GatedProcessor::retry_once() = "d7";
  constexpr int kDocuments = 20;
  RunnerFixture fixture(kGatedPipeline);
  pass_behind_the_gate(fixture, "d", kDocuments);
  EXPECT_EQ(fixture.stop(), 0);

  std::vector<std::string> calls;
  {
    std::lock_guard lock(testing::GatedProcessor::mutex());
    calls = testing::GatedProcessor::calls();
  }
  std::vector<std::string> handled, expected;
  for (int i = 0; i < kDocuments; ++i) {
    expected.push_back("d" + std::to_string(i));
    if (i == 7) expected.push_back("d7");  // its retry
  }
  int shown_first = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].starts_with("message ")) {
      handled.push_back(calls[i].substr(8));
      continue;
    }
    // "upcoming dK" comes right before the handling of d(K-1), and before dK's own.
    const int k = std::stoi(calls[i].substr(10));
    ASSERT_LT(i + 1, calls.size());
    EXPECT_EQ(calls[i + 1], "message d" + std::to_string(k - 1)) << "after " << calls[i];
    EXPECT_EQ(std::find(calls.begin(), calls.begin() + static_cast<std::ptrdiff_t>(i), "message d" + std::to_string(k)),
              calls.begin() + static_cast<std::ptrdiff_t>(i));
    ++shown_first;
  }
  EXPECT_EQ(handled, expected);
  // d1..d19 waited together: all but the first of each batch are shown early (a batch may be cut short).
  EXPECT_GE(shown_first, kDocuments / 2);
  // The retried d7 passed before d8, which was shown to the stage before d7's first try, was handled.
  const auto retried = std::find(calls.begin(), calls.end(), "message d8");
  EXPECT_EQ(std::count(calls.begin(), retried, "message d7"), 2);
}

// The work a stage does on a document in upcoming() is part of that document's processing time.
TEST(StageRunnerAcks, TimeSpentOnADocumentShownEarlyCountsInItsProcessingTime) {
  testing::GatedProcessor::reset();
  testing::GatedProcessor::upcoming_ms() = 40;
  constexpr int kDocuments = 6;
  RunnerFixture fixture(kGatedPipeline);
  pass_behind_the_gate(fixture, "t", kDocuments);  // t0 is held at the gate for 300 ms
  ASSERT_TRUE(
      fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == kDocuments; }, seconds(10)));
  std::size_t shown = 0;
  {
    std::lock_guard lock(testing::GatedProcessor::mutex());
    for (const auto& call : testing::GatedProcessor::calls()) shown += call.starts_with("upcoming ") ? 1 : 0;
  }
  ASSERT_GE(shown, 1u);
  // Over 25 ms: t0 (held at the gate) and each document shown early (40 ms in upcoming()); the others
  // take microseconds.
  const nlohmann::json& buckets = fixture.counters()["latency"]["buckets"];
  std::uint64_t slow = 0;
  for (std::size_t slot = 8; slot < buckets.size(); ++slot) slow += buckets[slot].get<std::uint64_t>();
  EXPECT_EQ(slow, 1 + shown) << buckets.dump();
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(StageRunnerAcks, ASinkReportsAStoredCopyOnlyOnceItsBatchIsFlushed) {
  testing::BatchingSink::stored() = 0;
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: out, type: batching_sink, inputs: [src]}\n",
      "acknowledgements: true, flush_interval_ms: 600000");
  fixture.start("out");
  auto input = fixture.producer("src", "out");
  testing::send_document(input,
                         Document{Header{"s1", 0, "", "src#0/0000000000000011/0000000000000022"}, {{"id", "s1"}}});
  ASSERT_TRUE(fixture.wait_for([&](const nlohmann::json&) { return !fixture.acks().empty(); }, seconds(10)));
  EXPECT_EQ(testing::BatchingSink::stored().load(), 1) << "acknowledged before it was durable";
  EXPECT_EQ(hex(fixture.acks()[0][2]), 0x22U);
  EXPECT_EQ(fixture.stop(), 0);
}

}  // namespace
}  // namespace vnawire::runtime
