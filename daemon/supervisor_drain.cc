// The supervisor's stop and bookkeeping: failing, the ordered drain, the balance check after it, the totals
// and progress lines, and the systemd watchdog pings that StallWatch allows.
#include "daemon/supervisor_impl.h"

#include <signal.h>

#include <algorithm>
#include <chrono>

#include "daemon/progress_bar.h"
#include "stages/runtime/wiring.h"

namespace vnawire::daemon {

using std::chrono::milliseconds;

namespace {

constexpr milliseconds kStatsInterval{100};
constexpr milliseconds kFinalStatsGrace{1000};  // after exit, how long a STOPPED message may still arrive

}  // namespace

void Supervisor::Impl::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  exit_code_ = 1;
  log_->error("{}", why);
  log_->error("stopping the pipeline");
  notifier_.stopping("stopping after a failure: " + why);
  stopping_ = true;
  stop_started_ = Clock::now();
  kill_all(SIGTERM);
}

// Every replica has exited and, unless the stop was forced, sent its final counts (or had time to).
bool Supervisor::Impl::all_exited() const {
  const auto now = Clock::now();
  for (const auto& replica : replicas_) {
    if (replica.state != ReplicaState::Exited) return false;
    if (!failed_ && !replica.final_report && now - replica.exited_at < kFinalStatsGrace) return false;
  }
  return true;
}

bool Supervisor::Impl::stage_exited(const std::string& stage) const {
  const auto now = Clock::now();
  for (const auto& replica : replicas_) {
    if (replica.stage != stage) continue;
    if (replica.state != ReplicaState::Exited) return false;
    if (!replica.final_report && now - replica.exited_at < kFinalStatsGrace) return false;
  }
  return true;
}

void Supervisor::Impl::begin_stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  stop_started_ = Clock::now();
  log_->info("stopping ({}): sources first, then each stage once its input is drained", why);
  notifier_.stopping("draining (" + why + ")");
}

// Sends STOP to every stage whose inputs have all exited and whose replicas have taken in everything
// those inputs forwarded: nothing can be in flight towards it any more.
void Supervisor::Impl::advance_drain() {
  const PipelineTotals now_totals = totals();
  for (const auto& stage : config_.stages) {
    if (stop_sent_stages_.count(stage.name)) continue;
    bool inputs_done = true;
    for (const auto& input : stage.inputs) inputs_done = inputs_done && stage_exited(input);
    const std::uint64_t expected = expected_by(now_totals, stage);
    if (!inputs_done) continue;
    const StageTotals& mine = now_totals.stages.at(stage.name);
    auto& seen = last_received_[stage.name];
    if (seen.first != mine.received || seen.second == Clock::time_point{}) seen = {mine.received, Clock::now()};
    const bool exact = mine.received >= expected && mine.pending == 0;
    // A replica killed mid-run takes the count of what it received since its last report with it, so
    // the exact balance may never come. Once every input process has exited nothing more can arrive:
    // a stage whose intake has not moved for kIntakeSettle, with nothing pending, is drained too.
    const bool settled = mine.pending == 0 && Clock::now() - seen.second > kIntakeSettle;
    const bool drained = stage.inputs.empty() || exact || settled;
    if (!drained) continue;
    if (!exact && !stage.inputs.empty()) {
      log_->warn(
          "{}: {} document(s) sent to it are unaccounted for (a replica crashed); they are sent again "
          "at the next start if their source had not recorded them",
          stage.name, expected - std::min(expected, mine.received));
    }
    stop_sent_stages_.insert(stage.name);
    for (auto& replica : replicas_) {
      if (replica.stage != stage.name) continue;
      replica.stop_sent = true;
      if (replica.state == ReplicaState::Backoff) replica.state = ReplicaState::Exited;  // nothing runs to stop
      if (replica.state == ReplicaState::Ready || replica.state == ReplicaState::Starting) {
        replica.state = ReplicaState::Stopping;
      }
      send(replica, runtime::kStop);
    }
  }
  // A STOP may be lost to a replica that was not connected yet: repeat it until the replica exits.
  for (auto& replica : replicas_) {
    if (replica.stop_sent && replica.state == ReplicaState::Stopping) send(replica, runtime::kStop);
  }
}

void Supervisor::Impl::request_stats(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_stats_ < kStatsInterval) return;
  last_stats_ = now;
  for (auto& replica : replicas_) {
    if (replica.state == ReplicaState::Ready || replica.state == ReplicaState::Stopping) send(replica, runtime::kStats);
  }
}

PipelineTotals Supervisor::Impl::totals() const {
  PipelineTotals out;
  for (const auto& stage : config_.stages) out.stages[stage.name];
  for (const auto& replica : replicas_) replica.add_to(out.stages[replica.stage]);
  out.bad_control_messages = bad_control_messages_;
  out.ready = !starting_;
  out.stopping = stopping_;
  bool quiescent = true;
  for (const auto& stage : config_.stages) {
    const StageTotals& mine = out.stages[stage.name];
    const std::uint64_t expected = expected_by(out, stage);
    quiescent = quiescent && mine.pending == 0 && (stage.inputs.empty() || mine.received == expected);
  }
  out.quiescent = quiescent;
  return out;
}

void Supervisor::Impl::log_progress(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_progress_ < milliseconds(options_.progress_interval_ms)) return;
  last_progress_ = now;
  const PipelineTotals t = totals();
  std::string line;
  for (const auto& stage : config_.stages) {
    const StageTotals& s = t.stages.at(stage.name);
    line += fmt::format("{}{} in {} out {}", line.empty() ? "" : " | ", stage.name, s.received, s.forwarded);
    if (s.dropped) line += fmt::format(" dropped {}", s.dropped);
    for (const auto& [target, n] : s.routed) line += fmt::format(" routed to {} {}", target, n);
    if (s.dead_lettered) line += fmt::format(" dead {}", s.dead_lettered);
    if (s.restarts) line += fmt::format(" restarts {}", s.restarts);
    if (s.progress_total > 0) {
      line += fmt::format(" backfill {}% of {}", progress_percent(s.progress_done, s.progress_total),
                          progress_amount(s.progress_total, ProgressUnit::Bytes));
    }
  }
  if (t.bad_control_messages) line += fmt::format(" | bad control messages {}", t.bad_control_messages);
  if (zap_ && zap_->refused() > 0) line += fmt::format(" | CURVE clients refused {}", zap_->refused());
  log_->info("{}", line);
  if (!starting_ && !stopping_ && !reloader_.in_progress()) notifier_.status(status_line(t));
  if (options_.on_progress) options_.on_progress(t);
}

// After the drain, with every replica's final counts: a stop is clean only if each stage received exactly
// what its inputs forwarded. Anything else is a document lost (or counted twice) on the way.
//
// With acknowledgements, the sources' outboxes say it: a copy lost with a killed process was sent again,
// and the stop is clean if every source saw all it sent acknowledged, whatever the counts.
void Supervisor::Impl::check_balance() {
  const PipelineTotals t = totals();
  const bool acks = config_.pipeline.get_bool("acknowledgements");
  std::uint64_t unacknowledged = 0;
  for (const auto& stage : config_.stages) {
    if (stage.inputs.empty()) unacknowledged += t.stages.at(stage.name).in_flight;
  }
  for (const auto& stage : config_.stages) {
    if (stage.inputs.empty()) continue;
    const std::uint64_t expected = expected_by(t, stage);
    const std::uint64_t received = t.stages.at(stage.name).received;
    if (received == expected) continue;
    if (acks && unacknowledged == 0) {
      log_->info(
          "{} received {} document(s) where its inputs forwarded {} (copies lost with killed processes, "
          "sent again and acknowledged)",
          stage.name, received, expected);
      continue;
    }
    log_->error("{} received {} document(s) where its inputs forwarded {}: not a clean stop", stage.name, received,
                expected);
    exit_code_ = 1;
  }
  if (acks && unacknowledged > 0) {
    log_->error(
        "{} document(s) sent by the sources are not acknowledged: their outboxes send them again at the "
        "next start",
        unacknowledged);
    exit_code_ = 1;
  }
}

std::uint64_t Supervisor::Impl::expected_by(const PipelineTotals& t, const runtime::StageConfig& stage) const {
  std::int64_t expected = 0;
  for (const auto& input : stage.inputs) {
    if (auto it = t.stages.find(input); it != t.stages.end()) {
      expected += static_cast<std::int64_t>(it->second.sent_to(stage.name));
    }
  }
  expected += reloader_.adjustment(stage.name);
  return static_cast<std::uint64_t>(std::max<std::int64_t>(expected, 0));
}

// One line for `systemctl status`: what runs, what came in and went out, what went wrong.
std::string Supervisor::Impl::status_line(const PipelineTotals& t) const {
  std::uint64_t in = 0, stored = 0, dead = 0, restarts = 0;
  for (const auto& stage : config_.stages) {
    const StageTotals& s = t.stages.at(stage.name);
    if (stage.inputs.empty()) in += s.forwarded;
    if (config_.consumers_of(stage.name).empty()) stored += s.forwarded;
    dead += s.dead_lettered;
    restarts += s.restarts;
  }
  std::size_t processes = 0;
  for (const auto& replica : replicas_) processes += replica.pid > 0 ? 1 : 0;
  return fmt::format("{} stages, {} processes; {} documents in, {} stored; {} dead-lettered; {} restarts",
                     config_.stages.size(), processes, in, stored, dead, restarts);
}

// Pings at half the watchdog period, and only while StallWatch finds the pipeline progressing: a stuck
// pipeline lets systemd's watchdog fire, which restarts the daemon (Restart=on-failure).
void Supervisor::Impl::ping_watchdog(Clock::time_point now) {
  // systemd arms the watchdog once READY=1 is sent; the start has its own deadline (stage_timeout_ms).
  if (!stall_watch_ || starting_ || now < next_watchdog_) return;
  const PipelineTotals t = totals();
  std::map<std::string, std::uint64_t> expected;
  for (const auto& stage : config_.stages) expected[stage.name] = expected_by(t, stage);
  bool outstanding = !config_.pipeline.get_bool("acknowledgements");
  for (const auto& stage : config_.stages) {
    outstanding = outstanding || (stage.inputs.empty() && t.stages.at(stage.name).in_flight > 0);
  }
  const std::string stuck = stall_watch_->check(t, expected, outstanding, replicas_, now);
  if (!stuck.empty()) {
    if (stalled_.empty()) {
      log_->error("pipeline stuck: {}; withholding the systemd watchdog ping", stuck);
      notifier_.status("stuck: " + stuck);
    }
    stalled_ = stuck;
    return;
  }
  if (!stalled_.empty()) log_->info("pipeline progressing again: watchdog pings resume");
  stalled_.clear();
  notifier_.watchdog();
  next_watchdog_ = now + std::chrono::duration_cast<milliseconds>(notifier_.watchdog_period()) / 2;
}

}  // namespace vnawire::daemon
