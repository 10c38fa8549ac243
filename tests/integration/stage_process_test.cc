// One real stage process fed by the test over ZeroMQ: bad messages are dead-lettered, good ones flow,
// and SIGTERM finishes in-flight work and exits 0.
#include <signal.h>

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "stages/runtime/codec.h"
#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

void send(zmq::socket_t& socket, const std::vector<std::string>& frames) {
  std::vector<zmq::const_buffer> buffers;
  for (const auto& frame : frames) buffers.push_back(zmq::buffer(frame));
  ASSERT_TRUE(zmq::send_multipart(socket, buffers));
}

// The documents of one data message, a batch or a single document: (header, payload) each.
std::vector<std::pair<std::string, std::string>> documents_of(const std::vector<zmq::message_t>& frames) {
  std::vector<std::pair<std::string, std::string>> documents;
  if (frames.size() != 2) return documents;
  if (!runtime::is_batch_header(frames[0].to_string_view())) {
    documents.emplace_back(frames[0].to_string(), frames[1].to_string());
    return documents;
  }
  const runtime::Batch batch = runtime::decode_batch(frames[0].to_string_view(), frames[1].to_string_view());
  EXPECT_EQ(batch.error, "");
  for (const auto& entry : batch.entries) documents.emplace_back(entry.header, entry.payload);
  return documents;
}

std::string config_with(const std::filesystem::path& dir, const std::string& pipeline_extra) {
  return "pipeline: {state_dir: " + dir.string() + ", run_dir: " + (dir / "run").string() + pipeline_extra +
         "}\n"
         "stages:\n"
         "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
         "  - {name: langid, type: langid, inputs: [fetch]}\n"
         "  - {name: out, type: sink_jsonl, inputs: [langid]}\n";
}

// Documents that reach langid in one batch message are taken one by one (a broken one dead-lettered alone,
// the unreadable end of a batch as one more dead letter), in order, and leave in batches of at most
// batch_documents (16). That ready documents leave together is StageRunnerAcks.EachDocumentOfABatch….
TEST(StageProcess, ABatchIsTakenDocumentByDocumentInOrder) {
  TempDir dir;
  const std::string run = (dir / "run").string();
  write_file(dir / "pipeline.yaml", config_with(dir.path(), ""));
  std::filesystem::create_directories(dir / "run");
  zmq::context_t context(1);
  zmq::socket_t upstream(context, zmq::socket_type::push);
  upstream.bind("ipc://" + run + "/fetch.0.to.langid");
  zmq::socket_t downstream(context, zmq::socket_type::pull);
  downstream.set(zmq::sockopt::rcvtimeo, 20000);
  downstream.connect("ipc://" + run + "/langid.0.to.out");
  Process stage({kBinary, "stage", "--config", (dir / "pipeline.yaml").string(), "--stage", "langid"}, dir.path());
  std::string body;
  std::map<std::string, std::string> sent;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "d" + std::to_string(i);
    const std::string payload = i == 5 ? "{broken"
                                       : R"({"id":")" + id + R"(","body":"Le ministre a reçu la délégation )" +
                                             std::to_string(i) + R"( à Hanoï pour un entretien."})";
    runtime::append_to_batch(body, "VNAW 1 0 - " + id, payload);
    sent[id] = payload;
  }
  send(upstream, {runtime::encode_batch_header(20), body});
  std::string short_batch;
  sent["last"] =
      R"({"id":"last","body":"Le dernier texte de la série parle de la coopération entre les deux pays voisins."})";
  runtime::append_to_batch(short_batch, "VNAW 1 0 - last", sent["last"]);
  send(upstream, {"VNAB 1 2", short_batch});  // says two, holds one

  std::vector<std::string> ids;
  while (ids.size() < 20) {
    std::vector<zmq::message_t> frames;
    ASSERT_TRUE(zmq::recv_multipart(downstream, std::back_inserter(frames))) << stage.errors();
    const auto documents = documents_of(frames);
    ASSERT_FALSE(documents.empty());
    EXPECT_LE(documents.size(), 16u);
    for (const auto& [header, payload] : documents) {
      EXPECT_EQ(nlohmann::json::parse(payload)["lang"]["code"], "fr") << payload;
      ids.push_back(nlohmann::json::parse(payload)["id"]);
      // langid adds "lang" and nothing else: what it sends is what it got with "lang" written in.
      const std::string& got = sent.at(ids.back());
      EXPECT_TRUE(payload.starts_with(got.substr(0, got.size() - 1) + ",\"lang\":{")) << payload;
    }
  }
  const auto dead = dir / "deadletter/langid.0.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(dead) >= 2; }, seconds(20))) << stage.errors();
  const auto letters = read_lines(dead);
  EXPECT_EQ(nlohmann::json::parse(letters.at(0))["reason"], "cannot decode: payload is not valid JSON");
  EXPECT_EQ(nlohmann::json::parse(letters.at(1))["reason"],
            "malformed batch: document 2 of 2 has no valid \"<header bytes> <payload bytes>\" line");
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    if (i != 5) expected.push_back("d" + std::to_string(i));
  }
  expected.push_back("last");
  EXPECT_EQ(ids, expected);
  stage.signal(SIGTERM);
  EXPECT_EQ(stage.wait(seconds(20)), 0) << stage.errors();
  EXPECT_NE(stage.errors().find("stopped: received 22, forwarded 20, dropped 0, dead-lettered 2"), std::string::npos)
      << stage.errors();
}

// batch_documents: 1 sends every document alone, as a pipeline mixing in an older stage needs.
TEST(StageProcess, BatchesCanBeTurnedOff) {
  TempDir dir;
  const std::string run = (dir / "run").string();
  write_file(dir / "pipeline.yaml", config_with(dir.path(), ", batch_documents: 1"));
  std::filesystem::create_directories(dir / "run");
  zmq::context_t context(1);
  zmq::socket_t upstream(context, zmq::socket_type::push);
  upstream.bind("ipc://" + run + "/fetch.0.to.langid");
  Process stage({kBinary, "stage", "--config", (dir / "pipeline.yaml").string(), "--stage", "langid"}, dir.path());
  std::string body;
  for (int i = 0; i < 5; ++i) {
    runtime::append_to_batch(body, "VNAW 1 0 - d" + std::to_string(i),
                             R"({"id":"d)" + std::to_string(i) + R"(","body":"Un texte court en français."})");
  }
  send(upstream, {runtime::encode_batch_header(5), body});
  zmq::socket_t downstream(context, zmq::socket_type::pull);
  downstream.set(zmq::sockopt::rcvtimeo, 20000);
  downstream.connect("ipc://" + run + "/langid.0.to.out");
  for (int i = 0; i < 5; ++i) {
    std::vector<zmq::message_t> frames;
    ASSERT_TRUE(zmq::recv_multipart(downstream, std::back_inserter(frames))) << stage.errors();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].to_string(), "VNAW 1 0 - d" + std::to_string(i));
  }
  stage.signal(SIGTERM);
  EXPECT_EQ(stage.wait(seconds(20)), 0) << stage.errors();
}

TEST(StageProcess, BadMessagesAreDeadLetteredAndTheStageGoesOn) {
  TempDir dir;
  const std::string run = (dir / "run").string();
  write_file(dir / "pipeline.yaml", config_with(dir.path(), ""));
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
  const auto documents = documents_of(frames);
  ASSERT_EQ(documents.size(), 1u);
  EXPECT_EQ(documents[0].first, "VNAW 1 2 t-1 good one");
  auto record = nlohmann::json::parse(documents[0].second);
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
