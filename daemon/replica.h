// What the supervisor knows of each stage replica: its process, its state and the counts it reported.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/supervisor.h"
#include "stages/runtime/stage_runner.h"

namespace vnawire::daemon {

using Clock = std::chrono::steady_clock;

enum class ReplicaState { Starting, Ready, Stopping, Exited, Backoff };

struct Counts {
  std::uint64_t received = 0, forwarded = 0, dropped = 0, dead_lettered = 0, retried = 0, pending = 0;
  std::uint64_t in_flight = 0;  // sources: sent and not acknowledged yet (a level, not a count: never carried)
  std::map<std::string, std::uint64_t> counters;
  std::map<std::string, std::uint64_t> routed;  // route target -> documents routed to it

  static Counts from_json(const nlohmann::json& body) {
    Counts c;
    c.received = body.value("received", std::uint64_t{0});
    c.forwarded = body.value("forwarded", std::uint64_t{0});
    c.dropped = body.value("dropped", std::uint64_t{0});
    c.dead_lettered = body.value("dead_lettered", std::uint64_t{0});
    c.retried = body.value("retried", std::uint64_t{0});
    c.pending = body.value("pending", std::uint64_t{0});
    c.in_flight = body.value("in_flight", std::uint64_t{0});
    if (auto it = body.find("counters"); it != body.end() && it->is_object()) {
      for (const auto& [key, value] : it->items()) {
        if (value.is_number_unsigned()) c.counters[key] = value.get<std::uint64_t>();
      }
    }
    if (auto it = body.find("routed"); it != body.end() && it->is_object()) {
      for (const auto& [key, value] : it->items()) {
        if (value.is_number_unsigned()) c.routed[key] = value.get<std::uint64_t>();
      }
    }
    return c;
  }
  void add_to(StageTotals& t) const {
    t.received += received;
    t.forwarded += forwarded;
    t.dropped += dropped;
    t.dead_lettered += dead_lettered;
    t.retried += retried;
    t.pending += pending;
    t.in_flight += in_flight;
    for (const auto& [key, value] : counters) t.counters[key] += value;
    for (const auto& [key, value] : routed) t.routed[key] += value;
  }
  void accumulate(const Counts& other) {
    received += other.received;
    forwarded += other.forwarded;
    dropped += other.dropped;
    dead_lettered += other.dead_lettered;
    retried += other.retried;
    for (const auto& [key, value] : other.counters) counters[key] += value;
    for (const auto& [key, value] : other.routed) routed[key] += value;
  }
};

struct Replica {
  std::string stage;
  int index = 0;
  std::string identity;
  // Placed on another host (`host:`): its host agent starts and restarts it, so the pids are that host's,
  // never to be signalled or reaped here; a new process shows itself by its READY.
  bool remote = false;
  pid_t pid = -1;           // the running process, -1 once reaped
  pid_t incarnation = -1;   // the last process started: messages it sent are still its own after the exit
  ReplicaState state = ReplicaState::Backoff;
  Clock::time_point started{}, last_seen{}, exited_at{}, restart_at{};
  std::chrono::milliseconds backoff{0};
  std::uint64_t restarts = 0;
  Counts current;   // the latest incarnation's latest report (kept after its exit until the next start)
  Counts carried;   // what earlier incarnations had reported before they died
  pid_t previous_incarnation = -1;  // the process before the current one, whose last reports may still arrive
  Counts previous_final;            // what `carried` holds of it so far
  bool final_report = false;  // STOPPED received for this incarnation
  bool ready_seen = false;    // READY received from this incarnation (perhaps only after its exit)
  bool stop_sent = false;
  std::string failure;        // FAILED's reason, which may arrive just after the exit is reaped
  std::optional<int> failed_before_ready;  // exit status of a replica that never became ready

  // A new process runs this replica. Only now is the previous one's last report final: until the
  // restart its messages may still be read after its exit was reaped, and they replace `current`.
  void begin_incarnation(pid_t new_pid, Clock::time_point now) {
    carried.accumulate(current);
    previous_incarnation = incarnation;
    previous_final = current;
    current = Counts{};
    pid = incarnation = new_pid;
    state = ReplicaState::Starting;
    started = last_seen = now;
    final_report = false;
    ready_seen = false;
    stop_sent = false;
    failure.clear();
    failed_before_ready.reset();
  }
  // The process was reaped.
  void ended(Clock::time_point now) {
    state = ReplicaState::Exited;
    exited_at = now;
    pid = -1;
  }
  // The process crashed: it is started again at `restart_at`.
  void crashed(Clock::time_point restart_time) {
    ++restarts;
    state = ReplicaState::Backoff;
    restart_at = restart_time;
  }
  // A READY, HEARTBEAT or STOPPED of the current incarnation, which may be read after its exit was reaped.
  void report(std::string_view verb, const Counts& counts, bool stopping) {
    current = counts;
    ready_seen = ready_seen || verb == runtime::kReady;
    // A message that trails its process's exit still carries its counters, but cannot revive it.
    if (pid <= 0) {
      final_report = final_report || verb == runtime::kStopped;
      return;
    }
    if (verb == runtime::kReady) {
      state = stopping && stop_sent ? ReplicaState::Stopping : ReplicaState::Ready;
    } else if (verb == runtime::kStopped) {
      final_report = true;
    }
  }
  // A report of the previous incarnation read only after the next one started (counts are cumulative per
  // process): what it adds to what was carried of it is carried too, so nothing it handled goes uncounted.
  void late_report(const Counts& counts) {
    auto grow = [](std::uint64_t& total, std::uint64_t& known, std::uint64_t reported) {
      if (reported > known) {
        total += reported - known;
        known = reported;
      }
    };
    grow(carried.received, previous_final.received, counts.received);
    grow(carried.forwarded, previous_final.forwarded, counts.forwarded);
    grow(carried.dropped, previous_final.dropped, counts.dropped);
    grow(carried.dead_lettered, previous_final.dead_lettered, counts.dead_lettered);
    grow(carried.retried, previous_final.retried, counts.retried);
    for (const auto& [key, value] : counts.counters) grow(carried.counters[key], previous_final.counters[key], value);
    for (const auto& [key, value] : counts.routed) grow(carried.routed[key], previous_final.routed[key], value);
  }
  // What every incarnation reported, added to a stage's totals.
  void add_to(StageTotals& totals) const {
    carried.add_to(totals);
    current.add_to(totals);
    totals.restarts += restarts;
    if (state == ReplicaState::Ready) ++totals.replicas_ready;
  }
};

}  // namespace vnawire::daemon
