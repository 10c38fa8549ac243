// Runs one stage replica's real main loop on a thread of the test, which plays the daemon (the control
// ROUTER) and the stage's neighbours (PUSH and PULL sockets at the wired endpoints).
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "stages/registry.h"
#include "stages/runtime/codec.h"
#include "stages/runtime/pipeline_config.h"
#include "stages/runtime/stage_runner.h"
#include "stages/runtime/wiring.h"

namespace vnawire::testing {

// What the scripted source emits, and what the runtime told it back; shared with the runner's thread.
struct SourceScript {
  std::mutex mutex;
  std::deque<runtime::Document> to_emit;
  std::vector<std::string> sent;       // ids, from on_sent
  std::vector<std::string> abandoned;  // "id: reason", from on_abandoned

  void emit(runtime::Document document) {
    std::lock_guard lock(mutex);
    to_emit.push_back(std::move(document));
  }
  std::vector<std::string> sent_ids() {
    std::lock_guard lock(mutex);
    return sent;
  }
  std::vector<std::string> abandoned_ids() {
    std::lock_guard lock(mutex);
    return abandoned;
  }
};

inline SourceScript& source_script() {
  static SourceScript script;
  return script;
}

// A source that emits what the test puts in source_script() and records the runtime's callbacks.
class ScriptedSource final : public runtime::Stage {
 public:
  std::chrono::milliseconds produce(runtime::Emitter& out, int budget) override {
    std::lock_guard lock(source_script().mutex);
    auto& queue = source_script().to_emit;
    for (; budget > 0 && !queue.empty(); --budget) {
      out.emit(std::move(queue.front()));
      queue.pop_front();
    }
    return std::chrono::milliseconds(10);
  }
  void on_sent(const runtime::Document& document) override {
    std::lock_guard lock(source_script().mutex);
    source_script().sent.push_back(document.header.id);
  }
  void on_abandoned(const runtime::Document& document, const std::string& reason) override {
    std::lock_guard lock(source_script().mutex);
    source_script().abandoned.push_back(document.header.id + ": " + reason);
  }
};

// A sink that takes everything and whose flush always fails.
class FailingFlushSink final : public runtime::Stage {
 public:
  runtime::Status flush() override { return runtime::Status::error("the disk went away"); }
};

// A sink that stores what it took only when flushed (a batch, committed at flush), and says how much.
class BatchingSink final : public runtime::Stage {
 public:
  static std::atomic<int>& stored() {
    static std::atomic<int> count{0};
    return count;
  }
  runtime::Verdict on_message(runtime::Document&) override {
    ++held_;
    return runtime::Verdict::forward();
  }
  runtime::Status flush() override {
    stored() += held_;
    held_ = 0;
    return {};
  }

 private:
  int held_ = 0;
};

// A sink that stores what it took only when flushed, and whose on_idle() keeps the batch open (says it
// is holding) while hold() is set, as a busy SQLite sink keeps a young transaction.
class HoldingSink final : public runtime::Stage {
 public:
  static std::atomic<bool>& hold() {
    static std::atomic<bool> on{false};
    return on;
  }
  static std::atomic<int>& received() {
    static std::atomic<int> count{0};
    return count;
  }
  static std::atomic<int>& stored() {
    static std::atomic<int> count{0};
    return count;
  }
  static std::atomic<int>& idle_calls() {
    static std::atomic<int> count{0};
    return count;
  }
  runtime::Verdict on_message(runtime::Document&) override {
    ++held_;
    ++received();
    return runtime::Verdict::forward();
  }
  runtime::Status flush() override {
    stored() += held_;
    held_ = 0;
    return {};
  }
  runtime::Status on_idle() override {
    ++idle_calls();
    return hold() ? runtime::Status{} : flush();
  }
  bool holding() const override { return hold() && held_ > 0; }

 private:
  int held_ = 0;
};

// A processor that forwards everything and holds its first document until the test opens the gate, so
// that what the test sends meanwhile waits in its input. It logs what the runtime calls ("upcoming <id>",
// "message <id>"), and asks for one retry of the document named by retry_once().
class GatedProcessor final : public runtime::Stage {
 public:
  static std::atomic<bool>& gate() {
    static std::atomic<bool> open{false};
    return open;
  }
  static std::string& retry_once() {
    static std::string id;
    return id;
  }
  // How long upcoming() takes (a stage preparing the next document).
  static std::atomic<int>& upcoming_ms() {
    static std::atomic<int> ms{0};
    return ms;
  }
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::vector<std::string>& calls() {
    static std::vector<std::string> log;
    return log;
  }
  static void reset() {
    std::lock_guard lock(mutex());
    gate() = false;
    retry_once().clear();
    upcoming_ms() = 0;
    calls().clear();
  }
  void upcoming(const runtime::Document& document) override {
    log("upcoming " + document.header.id);
    std::this_thread::sleep_for(std::chrono::milliseconds(upcoming_ms().load()));
  }
  runtime::Verdict on_message(runtime::Document& document) override {
    log("message " + document.header.id);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!gate() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::lock_guard lock(mutex());
    if (!retry_once().empty() && document.header.id == retry_once()) {
      retry_once().clear();
      return runtime::Verdict::retry("asked to retry once");
    }
    return runtime::Verdict::forward();
  }

 private:
  static void log(std::string call) {
    std::lock_guard lock(mutex());
    calls().push_back(std::move(call));
  }
};

// The registry's stage types plus the test ones above.
inline const runtime::StageDescriptor* stage_type_or_test_type(const std::string& type) {
  static const runtime::StageDescriptor source{
      "scripted_source",
      "Test source: emits what the test scripts.",
      runtime::StageRole::Source,
      1,
      {},
      [](const runtime::StageContext&) { return std::make_unique<ScriptedSource>(); }};
  static const runtime::StageDescriptor failing{
      "failing_flush",
      "Test sink whose flush fails.",
      runtime::StageRole::Sink,
      1,
      {},
      [](const runtime::StageContext&) { return std::make_unique<FailingFlushSink>(); }};
  static const runtime::StageDescriptor batching{
      "batching_sink",
      "Test sink that stores at flush only.",
      runtime::StageRole::Sink,
      1,
      {},
      [](const runtime::StageContext&) { return std::make_unique<BatchingSink>(); }};
  static const runtime::StageDescriptor holding{
      "holding_sink",
      "Test sink that may keep its batch open when idle.",
      runtime::StageRole::Sink,
      1,
      {},
      [](const runtime::StageContext&) { return std::make_unique<HoldingSink>(); }};
  static const runtime::StageDescriptor gated{
      "gated_processor",
      "Test processor that holds its first document until the test opens the gate.",
      runtime::StageRole::Processor,
      1,
      {},
      [](const runtime::StageContext&) { return std::make_unique<GatedProcessor>(); }};
  if (type == source.type) return &source;
  if (type == gated.type) return &gated;
  if (type == failing.type) return &failing;
  if (type == batching.type) return &batching;
  if (type == holding.type) return &holding;
  return stages::find_stage(type);
}

inline runtime::Document document_of_size(const std::string& id, std::size_t body_bytes) {
  runtime::Document document;
  document.header.id = id;
  document.record = {{"id", id}, {"content_type", "text/plain"}, {"body", std::string(body_bytes, 'x')}};
  return document;
}

class RunnerFixture {
 public:
  // `stages_yaml`: the `stages:` list; `pipeline_extra`: more `pipeline:` keys, as "key: value, ...".
  // Acknowledgements are off unless `pipeline_extra` names them: with them on, the test plays the daemon's
  // acker itself (acks(), send_done()).
  RunnerFixture(const std::string& stages_yaml, const std::string& pipeline_extra = "") {
    char pattern[] = "/tmp/vnawire-runner-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    std::string extra = pipeline_extra;
    if (extra.find("acknowledgements") == std::string::npos)
      extra += (extra.empty() ? "" : ", ") + std::string("acknowledgements: false");
    // One document per message, which these tests read frame by frame, unless a test asks for batches.
    if (extra.find("batch_documents") == std::string::npos) extra += ", batch_documents: 1";
    if (extra.find("heartbeat_ms") == std::string::npos) extra += ", heartbeat_ms: 50";
    const std::string yaml = "pipeline: {state_dir: " + dir_.string() + ", " + extra + "}\nstages:\n" + stages_yaml;
    loaded_ = runtime::parse_pipeline_config(yaml, "test.yaml", dir_, stage_type_or_test_type);
    for (const auto& error : loaded_.errors) ADD_FAILURE() << error.to_string();
    std::filesystem::create_directories(loaded_.config.run_dir);
    control_.set(zmq::sockopt::linger, 0);
    control_.bind(runtime::control_endpoint(loaded_.config));
    std::lock_guard lock(source_script().mutex);
    source_script().to_emit.clear();
    source_script().sent.clear();
    source_script().abandoned.clear();
  }
  ~RunnerFixture() {
    if (thread_.joinable()) stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const runtime::PipelineConfig& config() const { return loaded_.config; }
  const std::filesystem::path& dir() const { return dir_; }
  zmq::context_t& context() { return context_; }

  // Starts replica 0 of `stage` and waits for its READY.
  void start(const std::string& stage) {
    stage_ = stage;
    identity_ = runtime::replica_identity(stage, 0);
    done_ = false;
    counters_ = nlohmann::json::object();
    const runtime::StageConfig* stage_config = config().find(stage);
    ASSERT_NE(stage_config, nullptr);
    thread_ = std::thread([this, stage_config] {
      exit_code_ = runtime::run_stage_process(config(), *stage_config, 0);
      done_ = true;
    });
    ASSERT_TRUE(
        wait_for([](const nlohmann::json& counters) { return counters.contains("pid"); }, std::chrono::seconds(20)))
        << "no READY from " << identity_;
  }

  // Reads the control channel until `condition` holds on the latest counters, asking for them every 50 ms.
  bool wait_for(const std::function<bool(const nlohmann::json&)>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto next_ask = std::chrono::steady_clock::now();
    while (true) {
      read_control(std::chrono::milliseconds(10));
      if (condition(counters_)) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now > deadline) return false;
      if (now >= next_ask) {
        send(runtime::kStats);
        next_ask = now + std::chrono::milliseconds(50);
      }
    }
  }
  const nlohmann::json& counters() const { return counters_; }
  std::uint64_t counter(const std::string& name) const {
    auto it = counters_.find("counters");
    if (it == counters_.end() || !it->contains(name)) return 0;
    return (*it)[name].get<std::uint64_t>();
  }

  // The ACK reports received so far, [origin, root hex, value hex] each, in order.
  const std::vector<nlohmann::json>& acks() const { return acks_; }
  // How many ACK messages carried them.
  std::size_t ack_messages() const { return ack_messages_; }
  // Reads the control channel for `wait`.
  void pump(std::chrono::milliseconds wait) { read_control(wait); }
  // Tells the replica (a source) that these roots are finished, as the daemon's acker does.
  void send_done(const std::vector<std::string>& roots) {
    const std::string body = nlohmann::json{{"roots", roots}}.dump();
    std::array<zmq::const_buffer, 3> frames = {zmq::buffer(identity_), zmq::buffer(std::string_view(runtime::kDone)),
                                               zmq::buffer(body)};
    (void)zmq::send_multipart(control_, frames, zmq::send_flags::dontwait);
  }

  // Sends STOP once, without waiting.
  void ask_to_stop() { send(runtime::kStop); }

  // Sends STOP until the replica's thread ends; returns its exit code (-1 if it did not stop).
  int stop() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done_ && std::chrono::steady_clock::now() < deadline) {
      send(runtime::kStop);
      read_control(std::chrono::milliseconds(50));
    }
    if (!done_) return -1;
    thread_.join();
    return exit_code_;
  }

  // A PULL socket reading what `from` sends to `to` (a consumer's side of the stage under test).
  zmq::socket_t consumer(const std::string& from, const std::string& to) {
    zmq::socket_t socket(context_, zmq::socket_type::pull);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::rcvtimeo, 20000);
    socket.set(zmq::sockopt::maxmsgsize, config().pipeline.get_int("max_message_bytes"));
    socket.connect(runtime::output_endpoint(config(), from, 0, to));
    return socket;
  }
  // A PUSH socket bound where `from` would send to `to` (an input's side of the stage under test).
  zmq::socket_t producer(const std::string& from, const std::string& to) {
    zmq::socket_t socket(context_, zmq::socket_type::push);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::sndtimeo, 20000);
    socket.bind(runtime::output_endpoint(config(), from, 0, to));
    return socket;
  }

  // The dead letters the replica wrote, as "id: reason".
  std::vector<std::string> dead_letters() const {
    std::vector<std::string> out;
    std::ifstream in(config().state_dir / "deadletter" / (stage_ + ".0.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
      auto letter = nlohmann::json::parse(line);
      out.push_back(letter["id"].get<std::string>() + ": " + letter["reason"].get<std::string>());
    }
    return out;
  }

 private:
  void send(const char* verb) {
    std::array<zmq::const_buffer, 3> frames = {zmq::buffer(identity_), zmq::buffer(std::string_view(verb)),
                                               zmq::str_buffer("{}")};
    (void)zmq::send_multipart(control_, frames, zmq::send_flags::dontwait);
  }
  void read_control(std::chrono::milliseconds wait) {
    zmq::pollitem_t item{static_cast<void*>(control_), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, wait);
    while (true) {
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(control_, std::back_inserter(frames), zmq::recv_flags::dontwait)) return;
      if (frames.size() != 3 || frames[0].to_string_view() != identity_) continue;
      auto body = nlohmann::json::parse(frames[2].to_string_view());
      if (frames[1].to_string_view() == runtime::kAck) {
        ++ack_messages_;
        for (auto& entry : body["acks"]) acks_.push_back(std::move(entry));
      } else {
        counters_ = std::move(body);
      }
    }
  }

  std::filesystem::path dir_;
  runtime::LoadedConfig loaded_;
  zmq::context_t context_{1};
  zmq::socket_t control_{context_, zmq::socket_type::router};
  std::string stage_, identity_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  int exit_code_ = -1;
  nlohmann::json counters_ = nlohmann::json::object();
  std::vector<nlohmann::json> acks_;
  std::size_t ack_messages_ = 0;
};

// Sends a document as the two frames of a data message.
inline void send_document(zmq::socket_t& socket, const runtime::Document& document) {
  const runtime::Frames frames = runtime::encode(document);
  const std::array<zmq::const_buffer, 2> buffers = {zmq::buffer(frames.header), zmq::buffer(frames.payload)};
  ASSERT_TRUE(zmq::send_multipart(socket, buffers)) << "could not send " << document.header.id;
}

// Receives one data message; returns its header frame, or "" on timeout.
inline std::string receive_header(zmq::socket_t& socket) {
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(socket, std::back_inserter(frames))) return "";
  return frames.empty() ? "" : frames[0].to_string();
}

}  // namespace vnawire::testing
