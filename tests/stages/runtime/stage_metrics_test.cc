// What a stage replica measures and reports beside its counts: errors by kind, drops by reason, replays,
// processing latency and the last document, read from its real HEARTBEATs.
#include "stages/runtime/stage_metrics.h"

#include <gtest/gtest.h>

#include "stages/runtime/codec.h"
#include "tests/stages/runner_fixture.h"

namespace vnawire::runtime {
namespace {

using std::chrono::seconds;
using testing::RunnerFixture;

void send_frames(zmq::socket_t& socket, const std::vector<std::string>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    socket.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

void send_document(zmq::socket_t& socket, const std::string& id, std::uint32_t attempt, const nlohmann::json& record) {
  Document document;
  document.header.id = id;
  document.header.attempt = attempt;
  document.record = record;
  const Frames frames = encode(document);
  send_frames(socket, {frames.header, frames.payload});
}

TEST(StageMetrics, AHeartbeatCarriesErrorsByKindDropsByReasonReplaysLatencyAndTheLastDocument) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: langid, type: langid, inputs: [src], options: {accept: [fr]}}\n"
      "  - {name: out, type: sink_jsonl, inputs: [langid]}\n");
  fixture.start("langid");
  auto input = fixture.producer("src", "langid");
  auto output = fixture.consumer("langid", "out");
  send_frames(input, {"one frame only"});                   // malformed
  send_frames(input, {"VNAW 9 0 - x", "{}"});               // decode: an unknown version
  send_document(input, "no-body", 0, {{"id", "no-body"}});  // rejected by the stage itself
  send_document(input, "en-1", 1,
                {{"id", "en-1"},
                 {"content_type", "text/plain"},
                 {"body",
                  "The Prime Minister met the President of the Republic in Hanoi on Tuesday to discuss "
                  "trade, investment and the cooperation between the two countries."}});
  send_document(input, "fr-1", 0,
                {{"id", "fr-1"},
                 {"content_type", "text/plain"},
                 {"body",
                  "Le Premier ministre a rencontré mardi à Hanoï le président de la République pour "
                  "discuter du commerce, des investissements et de la coopération entre les deux pays."}});
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("received", 0) == 5; }, seconds(10)));
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == 1; }, seconds(10)));
  const nlohmann::json& report = fixture.counters();
  EXPECT_EQ(report["errors"], (nlohmann::json{{"malformed", 1}, {"decode", 1}, {"rejected", 1}})) << report.dump();
  EXPECT_EQ(report["dropped_by"], (nlohmann::json{{"language_en", 1}})) << report.dump();
  EXPECT_EQ(report["replays"], 1);
  EXPECT_EQ(report["last"]["id"], "fr-1");
  EXPECT_GT(report["last"]["time_ms"].get<std::int64_t>(), 1'700'000'000'000);
  // Timed: the three documents that reached the stage's code, not the two the codec refused.
  std::uint64_t timed = 0;
  for (const auto& n : report["latency"]["buckets"]) timed += n.get<std::uint64_t>();
  EXPECT_EQ(timed, 3u);
  EXPECT_EQ(report["latency"]["buckets"].size(), kLatencyBoundsUs.size() + 1);
  EXPECT_EQ(fixture.stop(), 0);
}

}  // namespace
}  // namespace vnawire::runtime
