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
#include "stages/runtime/stage_metrics.h"
#include "stages/runtime/stage_runner.h"

namespace vnawire::daemon {

using Clock = std::chrono::steady_clock;

static_assert(std::tuple_size_v<decltype(Measures::latency_buckets)> == runtime::kLatencyBoundsUs.size() + 1,
              "the daemon keeps one slot per latency bucket the stages report");

enum class ReplicaState { Starting, Ready, Stopping, Exited, Backoff };

struct Counts {
  std::uint64_t received = 0, forwarded = 0, dropped = 0, dead_lettered = 0, retried = 0, pending = 0;
  std::uint64_t in_flight = 0;  // sources: sent and not acknowledged yet (a level, not a count: never carried)
  std::uint64_t progress_done = 0, progress_total = 0;  // sources' input of known size: levels too
  std::map<std::string, std::uint64_t> counters;
  std::map<std::string, std::uint64_t> routed;  // route target -> documents routed to it
  Measures measures;

  static void read_map(const nlohmann::json& body, const char* name, std::map<std::string, std::uint64_t>& out) {
    if (auto it = body.find(name); it != body.end() && it->is_object()) {
      for (const auto& [key, value] : it->items()) {
        if (value.is_number_unsigned()) out[key] = value.get<std::uint64_t>();
      }
    }
  }
  // The measurements a report may carry; a stage that sends none (an exec program) leaves them empty.
  static void read_measures(const nlohmann::json& body, Measures& m) {
    if (auto latency = body.find("latency"); latency != body.end() && latency->is_object()) {
      if (auto buckets = latency->find("buckets"); buckets != latency->end() && buckets->is_array()) {
        for (std::size_t i = 0; i < m.latency_buckets.size() && i < buckets->size(); ++i) {
          if ((*buckets)[i].is_number_unsigned()) m.latency_buckets[i] = (*buckets)[i].get<std::uint64_t>();
        }
      }
      m.latency_sum_us = latency->value("sum_us", std::uint64_t{0});
    }
    read_map(body, "errors", m.errors);
    read_map(body, "dropped_by", m.dropped_by);
    m.replays = body.value("replays", std::uint64_t{0});
    if (auto last = body.find("last"); last != body.end() && last->is_object()) {
      m.last_id = last->value("id", std::string());
      m.last_time_ms = last->value("time_ms", std::int64_t{0});
    }
  }

  static Counts from_json(const nlohmann::json& body) {
    Counts c;
    c.received = body.value("received", std::uint64_t{0});
    c.forwarded = body.value("forwarded", std::uint64_t{0});
    c.dropped = body.value("dropped", std::uint64_t{0});
    c.dead_lettered = body.value("dead_lettered", std::uint64_t{0});
    c.retried = body.value("retried", std::uint64_t{0});
    c.pending = body.value("pending", std::uint64_t{0});
    c.in_flight = body.value("in_flight", std::uint64_t{0});
    if (auto progress = body.find("progress"); progress != body.end() && progress->is_object()) {
      c.progress_done = progress->value("done", std::uint64_t{0});
      c.progress_total = progress->value("total", std::uint64_t{0});
    }
    read_map(body, "counters", c.counters);
    read_map(body, "routed", c.routed);
    read_measures(body, c.measures);
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
    t.progress_done += progress_done;
    t.progress_total += progress_total;
    for (const auto& [key, value] : counters) t.counters[key] += value;
    for (const auto& [key, value] : routed) t.routed[key] += value;
    t.measures.add(measures);
  }
  void accumulate(const Counts& other) {
    received += other.received;
    forwarded += other.forwarded;
    dropped += other.dropped;
    dead_lettered += other.dead_lettered;
    retried += other.retried;
    for (const auto& [key, value] : other.counters) counters[key] += value;
    for (const auto& [key, value] : other.routed) routed[key] += value;
    measures.add(other.measures);
  }
};

struct Replica {
  std::string stage;
  int index = 0;
  std::string identity;
  // Placed on another host (`host:`): its host agent starts and restarts it, so the pids are that host's,
  // never to be signalled or reaped here; a new process shows itself by its READY.
  bool remote = false;
  pid_t pid = -1;          // the running process, -1 once reaped
  pid_t incarnation = -1;  // the last process started: messages it sent are still its own after the exit
  ReplicaState state = ReplicaState::Backoff;
  Clock::time_point started{}, last_seen{}, exited_at{}, restart_at{};
  std::chrono::milliseconds backoff{0};
  std::uint64_t restarts = 0;
  Counts current;                   // the latest incarnation's latest report (kept after its exit until the next start)
  Counts carried;                   // what earlier incarnations had reported before they died
  pid_t previous_incarnation = -1;  // the process before the current one, whose last reports may still arrive
  Counts previous_final;            // what `carried` holds of it so far
  bool final_report = false;        // STOPPED received for this incarnation
  bool ready_seen = false;          // READY received from this incarnation (perhaps only after its exit)
  bool stop_sent = false;
  std::string failure;                     // FAILED's reason, which may arrive just after the exit is reaped
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
    Measures& was = previous_final.measures;
    Measures& kept = carried.measures;
    for (std::size_t i = 0; i < kept.latency_buckets.size(); ++i) {
      grow(kept.latency_buckets[i], was.latency_buckets[i], counts.measures.latency_buckets[i]);
    }
    grow(kept.latency_sum_us, was.latency_sum_us, counts.measures.latency_sum_us);
    for (const auto& [key, value] : counts.measures.errors) grow(kept.errors[key], was.errors[key], value);
    for (const auto& [key, value] : counts.measures.dropped_by) grow(kept.dropped_by[key], was.dropped_by[key], value);
    grow(kept.replays, was.replays, counts.measures.replays);
  }
  // What every incarnation reported, added to a stage's totals, and kept apart as this replica's entry.
  void add_to(StageTotals& totals) const {
    StageTotals mine;
    carried.add_to(mine);
    current.add_to(mine);
    mine.restarts = restarts;
    mine.replicas_ready = state == ReplicaState::Ready ? 1 : 0;
    static constexpr const char* kStateNames[] = {"starting", "ready", "stopping", "exited", "backoff"};
    mine.state = kStateNames[static_cast<int>(state)];
    mine.pid = pid;
    carried.add_to(totals);
    current.add_to(totals);
    totals.restarts += restarts;
    totals.replicas_ready += mine.replicas_ready;
    totals.replicas.push_back(std::move(mine));
  }
};

}  // namespace vnawire::daemon
