// The supervisor: starts every stage replica as a child process, watches it, restarts it, and drains on stop.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stages/runtime/pipeline_config.h"

namespace vnawire::daemon {

// What the replicas measure besides counts (stages/runtime/stage_metrics.h), summed like the counts.
struct Measures {
  std::array<std::uint64_t, 15> latency_buckets{};  // per bucket of runtime::kLatencyBoundsUs, then +Inf
  std::uint64_t latency_sum_us = 0;
  std::map<std::string, std::uint64_t> errors;      // by kind
  std::map<std::string, std::uint64_t> dropped_by;  // by reason label
  std::uint64_t replays = 0;
  std::string last_id;  // the newest document seen, and when (ms since the epoch; 0: none yet)
  std::int64_t last_time_ms = 0;
  void add(const Measures& other) {
    for (std::size_t i = 0; i < latency_buckets.size(); ++i) latency_buckets[i] += other.latency_buckets[i];
    latency_sum_us += other.latency_sum_us;
    for (const auto& [key, value] : other.errors) errors[key] += value;
    for (const auto& [key, value] : other.dropped_by) dropped_by[key] += value;
    replays += other.replays;
    if (other.last_time_ms >= last_time_ms && !other.last_id.empty()) {
      last_id = other.last_id;
      last_time_ms = other.last_time_ms;
    }
  }
};

struct StageTotals {
  std::uint64_t received = 0;
  std::uint64_t forwarded = 0;
  std::uint64_t dropped = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t retried = 0;
  std::uint64_t pending = 0;
  std::uint64_t in_flight = 0;  // sources: documents sent and not acknowledged yet
  // Sources reading an input of known size (a WARC backfill): how much is read, of how much (bytes; levels).
  std::uint64_t progress_done = 0, progress_total = 0;
  std::uint64_t restarts = 0;
  std::map<std::string, std::uint64_t> counters;  // stage-specific, summed over replicas
  std::map<std::string, std::uint64_t> routed;    // documents routed to each route target (not in forwarded)
  int replicas_ready = 0;
  Measures measures;
  // Per replica (index order), each with its own counts, restarts, and replicas_ready 0 or 1; empty in those.
  std::vector<StageTotals> replicas;
  std::string state;  // a replica's: starting, ready, stopping, exited, backoff
  int pid = -1;       // a replica's running process, -1 when none
  // What `consumer` should have received from this stage: its routed documents if it is a route target,
  // otherwise every forwarded one.
  std::uint64_t sent_to(const std::string& consumer) const {
    auto it = routed.find(consumer);
    return it == routed.end() ? forwarded : it->second;
  }
};

struct PipelineTotals {
  std::map<std::string, StageTotals> stages;
  // Every stage has received all its inputs forwarded and holds nothing pending.
  bool quiescent = false;
  std::uint64_t bad_control_messages = 0;  // malformed, or from no replica of this pipeline
  bool ready = false;                      // every replica has been READY once
  bool stopping = false;                   // a stop has begun
};

struct SupervisorOptions {
  std::string executable;       // the vnawire binary the children run
  std::string config_path;      // the validated file; the children read a snapshot of it
  runtime::StageLookup lookup;  // validates config_path again on SIGHUP; without it a reload is refused
  std::filesystem::path base_dir;
  // Checked on every tick; returning true starts a graceful stop (used by `vnawire demo`).
  std::function<bool(const PipelineTotals&)> stop_when;
  // Called on every status line the daemon prints (progress); may be empty.
  std::function<void(const PipelineTotals&)> on_progress;
  int progress_interval_ms = 10000;
  // Called every display_interval_ms with the totals, to draw a progress bar (daemon/progress_bar.h); may be empty.
  std::function<void(const PipelineTotals&)> on_display;
  int display_interval_ms = 250;
};

class Supervisor {
 public:
  Supervisor(const runtime::PipelineConfig& config, SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs until stopped: 0 after a clean drain, where every stage received exactly what its inputs
  // forwarded; 1 when a stage could not start, the folders are another daemon's, the drain timed out,
  // documents are unaccounted for, or a stage failed its last flush.
  int run();
  PipelineTotals totals() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vnawire::daemon
