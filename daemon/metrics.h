// What the daemon tells the outside about a running pipeline: Prometheus text, the /status JSON, health.
// Pure functions of the supervisor's totals, so that the HTTP server (metrics_server.cc) stays thin.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/supervisor.h"

namespace vnawire::daemon {

// One metric family as it is exposed; docs/metrics.md describes each (a test checks that it names them all).
struct MetricFamily {
  std::string_view name;  // without the vnawire_ prefix
  std::string_view type;  // counter, gauge or histogram
  std::string_view labels;
  std::string_view help;
};
const std::vector<MetricFamily>& metric_families();

// The stage graph, in file order, which the health check and the status page follow.
struct PipelineShape {
  std::vector<std::string> stages;
  std::map<std::string, std::vector<std::string>> inputs;
};

// The Prometheus text exposition format 0.0.4 of `totals`; with the graph, each stage's backlog too.
std::string render_prometheus(const PipelineTotals& totals, const PipelineShape* shape = nullptr);

// Documents the stage's inputs sent it that it has not taken in yet: in its input sockets, or on the way.
std::uint64_t stage_backlog(const PipelineTotals& totals, const PipelineShape& shape, const std::string& stage);

// A label value with \, " and newline escaped as the exposition format requires.
std::string escape_label_value(std::string_view value);

// Samples the totals about once a second: rates over the last few seconds, and whether a stage is stuck
// (work waits for it and it has done nothing for `stuck_after`).
class HealthTracker {
 public:
  using Clock = std::chrono::steady_clock;
  HealthTracker(PipelineShape shape, std::chrono::milliseconds stuck_after)
      : shape_(std::move(shape)), stuck_after_(stuck_after) {}
  void observe(const PipelineTotals& totals, Clock::time_point now);
  // Why the pipeline is not healthy (every stage has its replicas up and none is stuck), or "".
  std::string problem(const PipelineTotals& totals, Clock::time_point now) const;
  // Documents per second the stage took in (a source: sent out) over the sampled window.
  double rate(const std::string& stage) const;
  const PipelineShape& shape() const { return shape_; }

 private:
  struct Sample {
    Clock::time_point at;
    std::map<std::string, std::uint64_t> through;  // per stage: received, or forwarded for a source
  };
  PipelineShape shape_;
  std::chrono::milliseconds stuck_after_;
  std::deque<Sample> samples_;
  std::map<std::string, std::pair<std::uint64_t, Clock::time_point>> last_work_;  // stage -> work, when it moved
};

// The /status document that `vnawire status` prints.
nlohmann::json status_json(const PipelineTotals& totals, const HealthTracker& health,
                           HealthTracker::Clock::time_point now, std::int64_t wall_now_ms);

// The table `vnawire status` prints from a /status document; `wall_now_ms` gives the last documents' ages.
std::string render_status_table(const nlohmann::json& status, std::int64_t wall_now_ms);

}  // namespace vnawire::daemon
