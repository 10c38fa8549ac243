// One real stage process fed by the test over ZeroMQ: bad messages are dead-lettered, good ones flow,
// and SIGTERM finishes in-flight work and exits 0.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kBinary = VNAWIRE_BINARY;

void send(zmq::socket_t& socket, const std::vector<std::string>& frames) {
  std::vector<zmq::const_buffer> buffers;
  for (const auto& frame : frames) buffers.push_back(zmq::buffer(frame));
  ASSERT_TRUE(zmq::send_multipart(socket, buffers));
}

TEST(StageProcess, BadMessagesAreDeadLetteredAndTheStageGoesOn) {
  TempDir dir;
  const std::string run = (dir / "run").string();
  write_file(dir / "pipeline.yaml",
             "pipeline: {state_dir: " + dir.path().string() + ", run_dir: " + run + "}\n"
             "stages:\n"
             "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
             "  - {name: langid, type: langid, inputs: [fetch]}\n"
             "  - {name: out, type: sink_jsonl, inputs: [langid]}\n");
  std::filesystem::create_directories(dir / "run");
  zmq::context_t context(1);
  // The test plays the fetch stage (it binds langid's input) and the sink (it connects to langid's output).
  zmq::socket_t upstream(context, zmq::socket_type::push);
  upstream.bind("ipc://" + run + "/fetch.0.to.langid");
  zmq::socket_t downstream(context, zmq::socket_type::pull);
  downstream.set(zmq::sockopt::rcvtimeo, 20000);
  downstream.connect("ipc://" + run + "/langid.0.to.out");

  Process stage({kBinary, "stage", "--config", (dir / "pipeline.yaml").string(), "--stage", "langid", "--replica",
                 "0"},
                dir.path());
  send(upstream, {"just one frame"});
  send(upstream, {"VNAW 9 0 - a", R"({"id":"a","body":"x"})"});
  send(upstream, {"VNAW 1 0 - b", "{broken json"});
  send(upstream, {"VNAW 1 0 - c", R"({"id":"c","body":42})"});
  send(upstream, {"VNAW 1 2 t-1 good one",
                  R"({"id":"good one","body":"Les deux ministres ont signé un accord sur la formation professionnelle.","keep":true})"});

  std::vector<zmq::message_t> frames;
  auto got = zmq::recv_multipart(downstream, std::back_inserter(frames));
  ASSERT_TRUE(got.has_value()) << stage.errors();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].to_string(), "VNAW 1 2 t-1 good one");
  auto record = nlohmann::json::parse(frames[1].to_string());
  EXPECT_EQ(record["lang"]["code"], "fr");
  EXPECT_EQ(record["keep"], true);

  const auto dead = dir / "deadletter/langid.0.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(dead) >= 4; }, seconds(10)));
  std::vector<std::string> reasons;
  for (const auto& line : read_lines(dead)) reasons.push_back(nlohmann::json::parse(line)["reason"]);
  EXPECT_EQ(reasons[0], "malformed message: expected 2 frames, got 1");
  EXPECT_EQ(reasons[1], "cannot decode: unsupported protocol version 9 (this build speaks 1 and 2)");
  EXPECT_EQ(reasons[2], "cannot decode: payload is not valid JSON");
  EXPECT_EQ(reasons[3], "the record has no string \"body\"");

  stage.signal(SIGTERM);
  EXPECT_EQ(stage.wait(seconds(20)), 0) << stage.errors();
  EXPECT_NE(stage.errors().find("stopped: received 5, forwarded 1, dropped 0, dead-lettered 4"), std::string::npos)
      << stage.errors();
}

TEST(StageProcess, ADocumentNobodyTakesIsDeadLetteredAfterTheSendTimeout) {
  TempDir dir;
  const std::string run = (dir / "run").string();
  write_file(dir / "pipeline.yaml",
             "pipeline: {state_dir: " + dir.path().string() + ", run_dir: " + run + "}\n"
             "stages:\n"
             "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
             "  - {name: langid, type: langid, inputs: [fetch], send_timeout_ms: 300}\n"
             "  - {name: out, type: sink_jsonl, inputs: [langid]}\n");
  std::filesystem::create_directories(dir / "run");
  zmq::context_t context(1);
  zmq::socket_t upstream(context, zmq::socket_type::push);
  upstream.bind("ipc://" + run + "/fetch.0.to.langid");
  // No consumer ever connects to langid's output.
  Process stage({kBinary, "stage", "--config", (dir / "pipeline.yaml").string(), "--stage", "langid"}, dir.path());
  send(upstream, {"VNAW 1 0 - lonely", R"({"id":"lonely","body":"Un texte que personne ne lira."})"});
  const auto dead = dir / "deadletter/langid.0.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(dead) >= 1; }, seconds(10))) << stage.errors();
  auto letter = nlohmann::json::parse(read_lines(dead).at(0));
  EXPECT_EQ(letter["id"], "lonely");
  EXPECT_EQ(letter["reason"], "downstream did not take the document within send_timeout_ms");
  stage.signal(SIGTERM);
  EXPECT_EQ(stage.wait(seconds(20)), 0) << stage.errors();
}

TEST(StageProcess, AStageNamedWrongOrWithABadReplicaIsRefused) {
  TempDir dir;
  write_file(dir / "pipeline.yaml",
             "pipeline: {state_dir: " + dir.path().string() + "}\n"
             "stages:\n"
             "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
             "  - {name: out, type: sink_jsonl, inputs: [fetch]}\n");
  Process missing({kBinary, "stage", "--config", (dir / "pipeline.yaml").string(), "--stage", "nope"}, dir.path());
  EXPECT_EQ(missing.wait(seconds(10)), 2);
  EXPECT_NE(missing.errors().find("no stage named 'nope'"), std::string::npos);
  Process replica({kBinary, "stage", "--config", (dir / "pipeline.yaml").string(), "--stage", "out", "--replica", "3"},
                  dir.path());
  EXPECT_EQ(replica.wait(seconds(10)), 2);
}

}  // namespace
}  // namespace vnawire::testing
