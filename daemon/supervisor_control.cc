// The supervisor's control channel (ZeroMQ ROUTER): verbs to replicas, reading and applying their
// READY/HEARTBEAT/STOPPED/FAILED/ACK messages, replicas on other hosts and processes adopted from systemd.
#include "daemon/supervisor_impl.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <iterator>

#include <zmq_addon.hpp>

#include "stages/runtime/json_parse.h"
#include "stages/runtime/wiring.h"

namespace vnawire::daemon {

using std::chrono::milliseconds;

void Supervisor::Impl::send(Replica& replica, const char* verb) {
  if (!control_ || replica.state == ReplicaState::Exited || replica.state == ReplicaState::Backoff) return;
  std::array<zmq::const_buffer, 3> frames = {zmq::buffer(replica.identity), zmq::buffer(std::string_view(verb)),
                                             zmq::str_buffer("{}")};
  try {
    (void)zmq::send_multipart(*control_, frames, zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // Not connected yet (ROUTER drops unroutable messages): the next tick sends again where it matters.
  }
}

void Supervisor::Impl::read_control() {
  while (true) {
    std::vector<zmq::message_t> frames;
    std::optional<std::size_t> got;
    try {
      got = zmq::recv_multipart(*control_, std::back_inserter(frames), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      log_->error("control channel: {}", e.what());
      return;
    }
    if (!got) return;
    // Anything may connect to the control socket: one bad message (a field of the wrong type makes the
    // JSON library throw) must cost a log line, not the daemon and every document in flight.
    std::string problem;
    try {
      problem = handle_control(frames);
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (problem.empty()) continue;
    ++bad_control_messages_;
    log_->warn("bad control message {} from {} ({}): {}", bad_control_messages_,
               frames.empty() ? std::string("?") : frames[0].to_string(),
               frames.size() > 1 ? frames[1].to_string() : std::string("no verb"), problem);
  }
}

// Applies one control message; returns why it is malformed, or "" (may throw on a field of the wrong type).
std::string Supervisor::Impl::handle_control(const std::vector<zmq::message_t>& frames) {
  if (frames.size() != 3) return "expected 3 frames, got " + std::to_string(frames.size());
  const std::string identity = frames[0].to_string();
  const std::string verb = frames[1].to_string();
  // The fast reader (exactly nlohmann's answers): every heartbeat and acknowledgement report comes through here.
  auto body = runtime::parse_json(frames[2].to_string_view());
  if (body.is_discarded() || !body.is_object()) return "the body is not a JSON object";
  Replica* replica = nullptr;
  for (auto& candidate : replicas_) {
    if (candidate.identity == identity) replica = &candidate;
  }
  if (replica == nullptr) return "no stage replica of this pipeline is called '" + identity + "'";
  // Reports stand whichever incarnation sent them: what it finished is finished.
  if (verb == runtime::kAck) return handle_acks(body);
  // A message from an earlier incarnation (its pid) must not count for the current one; the previous one's
  // late counts still count for it.
  const int sender = body.value("pid", -1);
  if (replica->remote && sender != replica->incarnation && sender > 0 && sender != replica->previous_incarnation) {
    if (verb == runtime::kFailed) {
      const std::string reason = body.value("reason", std::string("unknown reason"));
      if (starting_) fail("stage " + identity + " cannot start on its host: " + reason);
      log_->error("stage {} cannot start on its host: {}", identity, reason);
      return "";
    }
    // A new process on the other host (its agent restarted it): counted from here, as a local restart is. A
    // heartbeat first is a stage that outlived a previous daemon (its READY went to that one): taken as ready.
    const bool running_before_us = verb == runtime::kHeartbeat && replica->incarnation <= 0;
    if ((verb == runtime::kReady || running_before_us) && !replica->stop_sent) {
      if (replica->incarnation > 0) log_->warn("{} was restarted on its host (pid {})", identity, sender);
      replica->begin_incarnation(sender, Clock::now());
      if (running_before_us) {
        replica->state = ReplicaState::Ready;
        replica->ready_seen = true;
      }
    }
  }
  if (sender != replica->incarnation && sender > 0 && adopt(*replica, verb, sender)) return "";
  if (sender != replica->incarnation) {
    if (sender == replica->previous_incarnation && sender > 0 &&
        (verb == runtime::kHeartbeat || verb == runtime::kStopped || verb == runtime::kReady)) {
      replica->late_report(Counts::from_json(body));
    }
    return "";
  }
  if (verb == runtime::kFailed) {
    replica->last_seen = Clock::now();
    replica->failure = body.value("reason", std::string("unknown reason"));
    if (!starting_) log_->error("stage {} cannot start: {}", identity, replica->failure);
    return "";
  }
  if (verb != runtime::kReady && verb != runtime::kHeartbeat && verb != runtime::kStopped) {
    return "unknown verb";
  }
  replica->report(verb, Counts::from_json(body), stopping_);
  replica->last_seen = Clock::now();
  // A remote replica's exit is seen here, by its last report, since it is no child of ours.
  if (replica->remote && verb == runtime::kStopped) {
    replica->ended(Clock::now());
    if (!replica->stop_sent && !failed_) log_->warn("{} stopped on its host without being told to", identity);
  }
  if (verb == runtime::kReady) log_->debug("{} ready", identity);
  return "";
}

std::string Supervisor::Impl::handle_acks(const nlohmann::json& body) {
  std::map<std::string, nlohmann::json> finished;  // origin -> roots
  const int applied = acker_.apply_message(body, Clock::now(), [&](const std::string& origin, std::uint64_t root) {
    finished[origin].push_back(runtime::token_hex(root));
  });
  for (auto& [origin, roots] : finished) {
    const std::size_t count = roots.size();
    const std::string text = nlohmann::json{{"roots", std::move(roots)}}.dump();
    std::array<zmq::const_buffer, 3> frames = {zmq::buffer(origin), zmq::buffer(std::string_view(runtime::kDone)),
                                               zmq::buffer(text)};
    // Not delivered (the source is restarting, or its control pipe is full): the source sends those documents
    // again when their acknowledgement is overdue. Said, so that a late resend or a dirty stop has its reason.
    std::string lost;
    bool restarting = false;
    try {
      if (!zmq::send_multipart(*control_, frames, zmq::send_flags::dontwait)) lost = "its control queue is full";
    } catch (const zmq::error_t& e) {
      lost = e.what();
      restarting = e.num() == EHOSTUNREACH;  // expected while it restarts: not worth a warning each time
    }
    if (!lost.empty()) {
      log_->log(restarting ? spdlog::level::debug : spdlog::level::warn,
                "could not tell {} that {} document(s) are acknowledged ({}): it will send them again", origin, count,
                lost);
    }
  }
  return applied < 0 ? "malformed acknowledgement report" : "";
}

// A replica of a stage that systemd supervises: the READY of a new process of it starts its next incarnation.
// A process that only sends heartbeats served an earlier daemon, and its counts mean nothing to this one: it
// is told to stop, and systemd (Restart=always) starts a fresh one.
bool Supervisor::Impl::adopt(Replica& replica, const std::string& verb, pid_t sender) {
  const runtime::StageConfig* stage = config_.find(replica.stage);
  if (stage == nullptr || !stage->external || replica.pid > 0 || replica.stop_sent) return false;
  // In Backoff too: systemd may start the next process before the daemon's own restart delay has run out.
  if (verb == runtime::kReady && (replica.state == ReplicaState::Starting || replica.state == ReplicaState::Backoff)) {
    replica.begin_incarnation(sender, Clock::now());
    log_->info("{} is pid {}, started by systemd", replica.identity, sender);
    return false;  // the READY itself is then handled as the new incarnation's
  }
  if (verb == runtime::kHeartbeat) send(replica, runtime::kStop);
  return true;
}

}  // namespace vnawire::daemon
