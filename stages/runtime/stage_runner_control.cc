// The stage's side of the control channel: its reports to the daemon (counts and measures), the daemon's
// verbs (STOP, STATS, DONE), and the signals that, like STOP, begin the drain.
#include "stages/runtime/json_dump.h"
#include "stages/runtime/stage_runner_impl.h"

namespace vnawire::runtime::detail {

void Runner::send_control(const char* verb, const nlohmann::json& body) {
  if (!control_) return;
  const std::string body_text = dump_json(body);  // nlohmann's text, written faster
  const std::array<zmq::const_buffer, 2> frames = {zmq::buffer(std::string_view(verb)), zmq::buffer(body_text)};
  // The control queue is large and the daemon reads it at once: never block the data path on it.
  (void)zmq::send_multipart(*control_, frames, zmq::send_flags::dontwait);
}

// Sends the counters; a report also tells the daemon everything done so far, which a crash cannot take back.
void Runner::report(const char* verb) {
  send_control(verb, stats());
  work_reported_ = work_done();
}

nlohmann::json Runner::stats() const {
  nlohmann::json body;
  body["pid"] = ::getpid();
  body["received"] = received_;
  body["forwarded"] = forwarded_;
  body["dropped"] = dropped_;
  body["dead_lettered"] = dead_lettered_;
  body["retried"] = retried_;
  body["pending"] = pending_.size() + (retry_document_ ? 1 : 0) + (ahead_ ? 1 : 0);
  if (outbox_) body["in_flight"] = outbox_->size();
  if (is_source_ && stage_) {
    const SourceProgress progress = stage_->progress();
    if (progress.total > 0) body["progress"] = {{"done", progress.done}, {"total", progress.total}};
  }
  body["counters"] = counters_.values();
  if (zap_ && zap_->refused() > 0) body["counters"]["curve_refused"] = zap_->refused();
  if (!route_outputs_.empty()) body["routed"] = routed_;
  metrics_.write(body);
  return body;
}

void Runner::report_heartbeat() {
  if (is_sink_ && work_done() != work_reported_) (void)flush_stage();
  report(kHeartbeat);
}

void Runner::handle_control() {
  while (true) {
    std::vector<zmq::message_t> frames;
    auto got = zmq::recv_multipart(*control_, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) return;
    if (frames.empty()) continue;
    const auto verb = frames[0].to_string_view();
    if (verb == kStop) {
      if (!stopping_) log_->info("stop requested by the daemon");
      begin_stop();
    } else if (verb == kStats) {
      report_heartbeat();
    } else if (verb == kDone) {
      if (frames.size() > 1) handle_done(frames[1].to_string_view());
    } else {
      log_->warn("unknown control verb '{}'", verb);
    }
  }
}

void Runner::handle_signal() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo != SIGTERM && info.ssi_signo != SIGINT) continue;
    if (::getppid() != parent_ && !orphaned_) {
      // The daemon died (its death sends SIGTERM to every stage it started): nothing will drain this stage's
      // consumers or acknowledge anything. Finish what is in hand and go, so that no process outlives it and
      // a new daemon starts on free sockets; what is unacknowledged stays in the outbox.
      orphaned_ = true;
      log_->warn("the daemon is gone: stopping now");
      begin_stop();
      input_drained_ = true;  // what waits in the input is sent again by its source
      stop_deadline_ = std::min(stop_deadline_, Clock::now() + kOrphanDrain);
      ack_deadline_ = Clock::now();
      // Nor may closing the sockets outlast that: no daemon reads the control socket any more (its 2 s linger
      // would hold reports for a peer that is gone), and what a consumer has not taken by the end of the
      // drain is sent again by its source, not worth drain_timeout_ms of lingering.
      if (control_) control_->set(zmq::sockopt::linger, 0);
      for (auto& output : outputs_) output.set(zmq::sockopt::linger, 500);
      continue;
    }
    if (!stopping_) log_->info("signal {}: finishing in-flight work", info.ssi_signo);
    begin_stop();
  }
}

// The drain deadline starts with the request, before send_pending() next runs in the same loop turn.
void Runner::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = Clock::now() + milliseconds(config_.pipeline.get_int("drain_timeout_ms"));
  // Half the drain for the acknowledgements: the stages after the source drain in the other half.
  ack_deadline_ = Clock::now() + milliseconds(config_.pipeline.get_int("drain_timeout_ms") / 2);
}

}  // namespace vnawire::runtime::detail
