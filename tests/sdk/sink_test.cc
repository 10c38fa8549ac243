// The SDK's sink loop against a stand-in daemon: READY, each outcome of the handler, STATS, STOP.
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include "stages/runtime/codec.h"
#include "vnawire/sdk.h"

namespace vnawire::sdk {
namespace {

using std::chrono::milliseconds;

struct Report {
  std::string verb;
  nlohmann::json body;
};

std::optional<Report> next_report(zmq::socket_t& control, milliseconds timeout) {
  zmq::pollitem_t item{static_cast<void*>(control), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
  std::vector<zmq::message_t> frames;
  (void)zmq::recv_multipart(control, std::back_inserter(frames));
  if (frames.size() != 3 || frames[0].to_string() != "files#0") return Report{"(bad message)", {}};
  return Report{frames[1].to_string(), nlohmann::json::parse(frames[2].to_string_view())};
}

void send_verb(zmq::socket_t& control, const char* verb) {
  std::array<zmq::const_buffer, 3> frames = {zmq::str_buffer("files#0"), zmq::buffer(std::string_view(verb)),
                                             zmq::str_buffer("{}")};
  (void)zmq::send_multipart(control, frames);
}

void send_document(zmq::socket_t& data, const std::string& id, std::uint32_t attempt, const std::string& trace) {
  const runtime::Frames frames = runtime::encode({{id, attempt, trace}, {{"id", id}, {"title", "t " + id}}});
  std::array<zmq::const_buffer, 2> parts = {zmq::buffer(frames.header), zmq::buffer(frames.payload)};
  (void)zmq::send_multipart(data, parts);
}

// A stand-in daemon: the control ROUTER and the input PUSH socket in a fresh folder, and the environment the
// real one gives an exec stage in zmq mode.
struct StandInDaemon {
  std::filesystem::path dir;
  zmq::context_t context;
  zmq::socket_t control{context, zmq::socket_type::router};
  zmq::socket_t data{context, zmq::socket_type::push};

  StandInDaemon() {
    char pattern[] = "/tmp/vnawire-sdk-XXXXXX";
    dir = ::mkdtemp(pattern);
    control.set(zmq::sockopt::linger, 0);
    data.set(zmq::sockopt::linger, 0);
    control.bind("ipc://" + (dir / "control").string());
    data.bind("ipc://" + (dir / "in").string());
    const std::map<std::string, std::string> environment = {
        {"VNAWIRE_PROTOCOL", "1"},
        {"VNAWIRE_STAGE", "files"},
        {"VNAWIRE_REPLICA", "0"},
        {"VNAWIRE_IDENTITY", "files#0"},
        {"VNAWIRE_CONTROL", "ipc://" + (dir / "control").string()},
        {"VNAWIRE_INPUTS", "ipc://" + (dir / "in").string()},
        {"VNAWIRE_HEARTBEAT_MS", "60000"},  // only the reports a test asks for, and the ones after work
        {"VNAWIRE_DRAIN_TIMEOUT_MS", "1000"},
        {"VNAWIRE_HWM", "100"},
        {"VNAWIRE_MAX_MESSAGE_BYTES", "1048576"},
        {"VNAWIRE_STATE_DIR", dir.string()},
        {"VNAWIRE_DEAD_LETTER", (dir / "deadletter/files.0.jsonl").string()},
    };
    for (const auto& [name, value] : environment) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~StandInDaemon() { std::filesystem::remove_all(dir); }
};

TEST(SdkSink, HandlesEachOutcomeReportsItsCountsAndStopsOnStop) {
  StandInDaemon daemon;
  zmq::socket_t& control = daemon.control;
  zmq::socket_t& data = daemon.data;
  const std::filesystem::path& dir = daemon.dir;
  std::vector<std::string> seen;
  Document first;
  auto exit_code = std::async(std::launch::async, [&] {
    return run_sink([&](const Document& document) {
      seen.push_back(document.id);
      if (document.id == "a") first = document;
      if (document.id == "b" && std::count(seen.begin(), seen.end(), "b") == 1) return Outcome::retry("busy");
      if (document.id == "c") return Outcome::error("refused by the test");
      return Outcome::ok();
    });
  });
  auto ready = next_report(control, milliseconds(5000));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->verb, "READY");
  EXPECT_EQ(ready->body.at("received"), 0);

  send_document(data, "a", 2, "trace-1");
  send_document(data, "b", 0, "");
  send_document(data, "c", 0, "");
  (void)data.send(zmq::str_buffer("one frame only"));
  nlohmann::json last;
  for (int turns = 0; turns < 100; ++turns) {
    auto report = next_report(control, milliseconds(5000));
    ASSERT_TRUE(report);
    ASSERT_EQ(report->verb, "HEARTBEAT");
    last = report->body;
    if (last.at("received") == 4 && last.at("pending") == 0) break;
  }
  EXPECT_EQ(last.at("forwarded"), 2);
  EXPECT_EQ(last.at("dead_lettered"), 2);
  EXPECT_EQ(last.at("retried"), 1);
  EXPECT_EQ(last.at("counters").at("stored"), 2);
  EXPECT_EQ(last.at("pid"), ::getpid());

  send_verb(control, "STATS");
  auto answer = next_report(control, milliseconds(5000));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->verb, "HEARTBEAT");
  send_verb(control, "STOP");
  auto stopped = next_report(control, milliseconds(5000));
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->verb, "STOPPED");
  EXPECT_EQ(stopped->body.at("received"), 4);
  ASSERT_EQ(exit_code.wait_for(milliseconds(5000)), std::future_status::ready);
  EXPECT_EQ(exit_code.get(), 0);

  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "b", "c"}));  // a retry holds the input back
  EXPECT_EQ(first.attempt, 2u);
  EXPECT_EQ(first.trace, "trace-1");
  EXPECT_EQ(first.record.at("title"), "t a");
  std::ifstream letters(dir / "deadletter/files.0.jsonl");
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(letters, line);) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("reason"), "refused by the test");
  EXPECT_EQ(records[0].at("id"), "c");
  EXPECT_EQ(records[1].at("reason"), "malformed message: expected 2 frames, got 1");
}

TEST(SdkSink, SigtermStopsItLikeStop) {
  StandInDaemon daemon;
  std::promise<int> exit_code;
  std::thread sink([&] { exit_code.set_value(run_sink([](const Document&) { return Outcome::ok(); })); });
  auto ready = next_report(daemon.control, milliseconds(5000));
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->verb, "READY");
  ::pthread_kill(sink.native_handle(), SIGTERM);  // blocked in that thread and read from its signalfd
  auto stopped = next_report(daemon.control, milliseconds(5000));
  sink.join();
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->verb, "STOPPED");
  EXPECT_EQ(exit_code.get_future().get(), 0);
}

TEST(SdkSink, WithoutTheDaemonsEnvironmentItSaysWhatIsMissingAndExits2) {
  ::unsetenv("VNAWIRE_IDENTITY");
  ::unsetenv("VNAWIRE_STAGE");
  ::unsetenv("VNAWIRE_CONTROL");
  ::testing::internal::CaptureStderr();
  const int code = run_sink([](const Document&) { return Outcome::ok(); });
  const std::string errors = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 2);
  EXPECT_NE(errors.find("VNAWIRE_STAGE is not set"), std::string::npos) << errors;
}

}  // namespace
}  // namespace vnawire::sdk
