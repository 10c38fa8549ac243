// The SDK's sink loop: both sides of docs/protocol.md (data and control) for a program the daemon runs.
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "stages/runtime/ack.h"
#include "stages/runtime/codec.h"
#include "stages/runtime/dead_letter.h"
#include "vnawire/sdk.h"

namespace vnawire::sdk {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kFirstRetryDelay{100};
constexpr milliseconds kLongestRetryDelay{5000};
constexpr int kBatch = 256;  // documents taken in one turn, so that control messages are never starved

// What the daemon passes in VNAWIRE_* variables (wiring.cc's program_environment()).
struct Environment {
  std::string stage, identity, control, dead_letter;
  int replica = 0;
  std::vector<std::string> inputs;
  milliseconds heartbeat{1000}, drain_timeout{30000};
  std::int64_t hwm = 100;  // the pipeline's default hwm when VNAWIRE_HWM is not set
  std::int64_t max_message_bytes = std::int64_t{256} << 20;
};

// Fills `out`; returns what is missing or malformed, empty when nothing is.
std::string read_environment(Environment& out) {
  std::string problems;
  const auto complain = [&](const std::string& what) { problems += (problems.empty() ? "" : ", ") + what; };
  const auto text = [&](const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') complain(std::string(name) + " is not set");
    return std::string(value == nullptr ? "" : value);
  };
  const auto number = [&](const char* name) {
    const std::string value = text(name);
    std::int64_t n = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (!value.empty() && (error != std::errc() || end != value.data() + value.size() || n < 0)) {
      complain(std::string(name) + " is not a number");
    }
    return n;
  };
  // 1: the stage does not acknowledge (messages carry no token); 2: it does. The SDK reads both.
  if (const char* version = std::getenv("VNAWIRE_PROTOCOL");
      version != nullptr && std::string(version) != "1" &&
      std::string(version) != std::to_string(runtime::kProtocolVersion)) {
    complain("VNAWIRE_PROTOCOL " + std::string(version) + " is not a version this SDK speaks (1 and " +
             std::to_string(runtime::kProtocolVersion) + ")");
  }
  out.stage = text("VNAWIRE_STAGE");
  out.replica = static_cast<int>(number("VNAWIRE_REPLICA"));
  out.identity = text("VNAWIRE_IDENTITY");
  out.control = text("VNAWIRE_CONTROL");
  out.dead_letter = text("VNAWIRE_DEAD_LETTER");
  out.heartbeat = milliseconds(std::max<std::int64_t>(number("VNAWIRE_HEARTBEAT_MS"), 10));
  out.drain_timeout = milliseconds(number("VNAWIRE_DRAIN_TIMEOUT_MS"));
  out.hwm = number("VNAWIRE_HWM");
  out.max_message_bytes = number("VNAWIRE_MAX_MESSAGE_BYTES");
  const std::string inputs = text("VNAWIRE_INPUTS");
  for (std::size_t at = 0; at < inputs.size();) {
    const std::size_t end = std::min(inputs.find(' ', at), inputs.size());
    if (end > at) out.inputs.push_back(inputs.substr(at, end - at));
    at = end + 1;
  }
  if (!problems.empty()) {
    problems += " (the vnawire daemon sets them when it runs this program as an exec stage in zmq mode)";
  }
  return problems;
}

// A document being handled, with its frames as they came, which a dead letter keeps.
struct Held {
  runtime::Document document;
  std::string header, payload;
};

class Sink {
 public:
  Sink(const Handler& handler, const SinkHooks& hooks) : handler_(handler), hooks_(hooks) {}
  ~Sink() {
    if (signal_fd_ >= 0) ::close(signal_fd_);
    ::pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);  // the signals are the program's again
  }
  int run();

 private:
  std::string set_up();
  void log(const std::string& line) const { std::cerr << prefix_ << line << std::endl; }
  void send_control(const char* verb, const nlohmann::json& body);
  void report(const char* verb);
  // A document that came with an acknowledgement token (protocol version 2) is finished here, stored or
  // dead-lettered: its token goes to the daemon with the next report.
  void acknowledge(const runtime::Header& header);
  void send_acks();
  void handle_control();
  void handle_signals();
  bool receive_one();
  void handle(Held held);
  void dead_letter(const std::string& reason, std::string_view id, std::string_view header, std::string_view payload);
  void begin_stop();

  const Handler& handler_;
  const SinkHooks& hooks_;
  Environment environment_;
  std::string prefix_ = "vnawire sink: ";
  zmq::context_t context_{1};
  std::optional<zmq::socket_t> control_, input_;
  int signal_fd_ = -1;
  sigset_t previous_mask_{};
  runtime::DeadLetterWriter dead_letters_;
  std::uint64_t received_ = 0, forwarded_ = 0, dead_lettered_ = 0, retried_ = 0;
  runtime::AckBatch acks_;
  std::uint64_t reported_ = 0;  // received_ + retried_ when the daemon last heard of them
  std::optional<Held> retry_;
  Clock::time_point retry_at_{}, stop_deadline_{};
  milliseconds retry_delay_ = kFirstRetryDelay;
  bool stopping_ = false, input_drained_ = false;
};

void Sink::send_control(const char* verb, const nlohmann::json& body) {
  if (!control_) return;
  const std::string text = body.dump();
  const std::array<zmq::const_buffer, 2> frames = {zmq::buffer(std::string_view(verb)), zmq::buffer(text)};
  try {
    (void)zmq::send_multipart(*control_, frames, zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    log(std::string("cannot send ") + verb + ": " + e.what());
  }
}

void Sink::acknowledge(const runtime::Header& header) {
  if (header.ack.empty()) return;
  if (auto token = runtime::parse_ack(header.ack)) acks_.add(token->origin, token->root, token->edge);
}

void Sink::send_acks() {
  if (acks_.empty()) return;
  nlohmann::json body = acks_.take();
  body["pid"] = ::getpid();
  send_control("ACK", body);
}

void Sink::report(const char* verb) {
  send_control(verb, nlohmann::json{{"pid", ::getpid()},
                                    {"received", received_},
                                    {"forwarded", forwarded_},
                                    {"dropped", 0},
                                    {"dead_lettered", dead_lettered_},
                                    {"retried", retried_},
                                    {"pending", retry_ ? 1 : 0},
                                    {"counters", {{"stored", forwarded_}, {"refused", dead_lettered_}}}});
  reported_ = received_ + retried_;
}

std::string Sink::set_up() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &signals, &previous_mask_);
  signal_fd_ = ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return std::string("signalfd: ") + std::strerror(errno);

  const std::string missing = read_environment(environment_);
  if (environment_.identity.empty()) return missing;
  prefix_ = "[" + environment_.identity + "] ";
  try {
    // Connected first, so that even a problem with the rest reaches the daemon as FAILED.
    control_.emplace(context_, zmq::socket_type::dealer);
    control_->set(zmq::sockopt::routing_id, environment_.identity);
    control_->set(zmq::sockopt::linger, 2000);
    control_->set(zmq::sockopt::sndhwm, 100000);
    control_->connect(environment_.control);
  } catch (const zmq::error_t& e) {
    control_.reset();
    return "cannot connect the control channel " + environment_.control + ": " + e.what();
  }
  if (!missing.empty()) return missing;
  if (auto opened = dead_letters_.open(environment_.dead_letter, environment_.stage, environment_.replica); !opened) {
    return opened.message();
  }
  if (!dead_letters_.set_aside().empty()) log(environment_.dead_letter + ": " + dead_letters_.set_aside());
  try {
    input_.emplace(context_, zmq::socket_type::pull);
    input_->set(zmq::sockopt::rcvhwm, static_cast<int>(environment_.hwm));
    input_->set(zmq::sockopt::maxmsgsize, environment_.max_message_bytes);
    input_->set(zmq::sockopt::linger, 0);
    for (const auto& endpoint : environment_.inputs) input_->connect(endpoint);
  } catch (const zmq::error_t& e) {
    return std::string("cannot set up the input socket: ") + e.what();
  }
  if (hooks_.start) {
    try {
      return hooks_.start();
    } catch (const std::exception& e) {
      return std::string("the start hook failed: ") + e.what();
    }
  }
  return {};
}

void Sink::handle_control() {
  for (;;) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(*control_, std::back_inserter(frames), zmq::recv_flags::dontwait)) return;
    if (frames.empty()) continue;
    const auto verb = frames[0].to_string_view();
    if (verb == "STOP") {
      begin_stop();
    } else if (verb == "STATS") {
      report("HEARTBEAT");
    } else {
      log("unknown control verb '" + std::string(verb) + "'");
    }
  }
}

void Sink::handle_signals() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) begin_stop();
}

void Sink::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = Clock::now() + environment_.drain_timeout;
}

void Sink::dead_letter(const std::string& reason, std::string_view id, std::string_view header,
                       std::string_view payload) {
  ++dead_lettered_;
  log("dead-lettered " + std::string(id.empty() ? "(no id)" : id) + ": " + reason);
  if (auto written = dead_letters_.write(reason, id, header, payload); !written) {
    log("could not write the dead letter: " + written.message());
  }
}

bool Sink::receive_one() {
  std::vector<zmq::message_t> frames;
  try {
    if (!zmq::recv_multipart(*input_, std::back_inserter(frames), zmq::recv_flags::dontwait)) return false;
  } catch (const zmq::error_t& e) {
    log(std::string("receive failed: ") + e.what());
    return false;
  }
  ++received_;
  if (frames.size() != 2) {
    dead_letter("malformed message: expected 2 frames, got " + std::to_string(frames.size()), "",
                frames.empty() ? "" : frames[0].to_string_view(), frames.size() > 1 ? frames[1].to_string_view() : "");
    return true;
  }
  auto document = runtime::decode(frames[0].to_string_view(), frames[1].to_string_view());
  if (!document) {
    dead_letter("cannot decode: " + document.error(), "", frames[0].to_string_view(), frames[1].to_string_view());
    return true;
  }
  handle(Held{std::move(document.value()), frames[0].to_string(), frames[1].to_string()});
  return true;
}

void Sink::handle(Held held) {
  Document document{held.document.header.id, held.document.header.attempt, held.document.header.trace,
                    std::move(held.document.record)};
  std::optional<Outcome> outcome;
  try {
    outcome = handler_(document);
  } catch (const std::exception& e) {
    outcome = Outcome::error(std::string("the handler threw: ") + e.what());
  }
  held.document.record = std::move(document.record);
  switch (outcome->kind()) {
    case Outcome::Kind::Ok:
      ++forwarded_;
      retry_delay_ = kFirstRetryDelay;
      acknowledge(held.document.header);
      return;
    case Outcome::Kind::Error:
      retry_delay_ = kFirstRetryDelay;
      dead_letter(outcome->reason(), held.document.header.id, held.header, held.payload);
      acknowledge(held.document.header);
      return;
    case Outcome::Kind::Retry:
      ++retried_;
      log("retrying " + held.document.header.id + " in " + std::to_string(retry_delay_.count()) +
          " ms: " + outcome->reason());
      retry_at_ = Clock::now() + retry_delay_;
      retry_delay_ = std::min(retry_delay_ * 2, kLongestRetryDelay);
      retry_ = std::move(held);
      return;
  }
}

int Sink::run() {
  if (const std::string problem = set_up(); !problem.empty()) {
    log("cannot start: " + problem);
    send_control("FAILED", nlohmann::json{{"pid", ::getpid()}, {"reason", problem}});
    return 2;
  }
  report("READY");
  auto next_heartbeat = Clock::now() + environment_.heartbeat;
  for (;;) {
    const bool want_input = !retry_ && !(stopping_ && input_drained_);
    std::vector<zmq::pollitem_t> items = {{static_cast<void*>(*control_), 0, ZMQ_POLLIN, 0},
                                          {nullptr, signal_fd_, ZMQ_POLLIN, 0}};
    if (want_input) items.push_back({static_cast<void*>(*input_), 0, ZMQ_POLLIN, 0});
    auto now = Clock::now();
    auto wake = std::min(next_heartbeat, retry_ ? retry_at_ : next_heartbeat);
    if (stopping_) wake = std::min(wake, now + milliseconds(20));
    const auto wait =
        std::clamp(std::chrono::duration_cast<milliseconds>(wake - now), milliseconds(0), milliseconds(1000));
    try {
      zmq::poll(items.data(), items.size(), wait);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) log(std::string("poll failed: ") + e.what());
    }
    if (items[1].revents & ZMQ_POLLIN) handle_signals();
    if (items[0].revents & ZMQ_POLLIN) handle_control();
    bool input_empty = !want_input;
    if (want_input) {
      int taken = 0;
      while (taken < kBatch && !retry_ && receive_one()) ++taken;
      input_empty = taken < kBatch && !retry_;
      if (stopping_ && taken == 0) input_drained_ = true;
    }
    now = Clock::now();
    if (retry_ && now >= retry_at_) {
      Held held = std::move(*retry_);
      retry_.reset();
      handle(std::move(held));
    }
    // Idle after work: the daemon hears of it now rather than at the next heartbeat, which a crash would lose.
    const bool idle = !retry_ && input_empty;
    if (now >= next_heartbeat || (idle && received_ + retried_ != reported_)) {
      report("HEARTBEAT");
      next_heartbeat = now + environment_.heartbeat;
    }
    send_acks();
    if (stopping_ && retry_ && now > stop_deadline_) {
      dead_letter("stopping: still failing after the drain timeout", retry_->document.header.id, retry_->header,
                  retry_->payload);
      acknowledge(retry_->document.header);
      retry_.reset();
    }
    if (stopping_ && input_drained_ && !retry_) break;
  }
  send_acks();
  std::string flush_failure;
  if (hooks_.flush) {
    try {
      flush_failure = hooks_.flush();
    } catch (const std::exception& e) {
      flush_failure = e.what();
    }
    if (!flush_failure.empty()) log("the last flush failed: " + flush_failure);
  }
  report("STOPPED");
  return flush_failure.empty() ? 0 : 1;
}

}  // namespace

int run_sink(const Handler& handler, const SinkHooks& hooks) {
  try {
    Sink sink(handler, hooks);
    return sink.run();
  } catch (const std::exception& e) {
    std::cerr << "vnawire sink: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace vnawire::sdk
