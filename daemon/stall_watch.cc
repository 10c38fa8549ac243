// The watchdog's health check over the counts the stages report in their heartbeats.
#include "daemon/stall_watch.h"

#include <fmt/format.h>

namespace vnawire::daemon {

std::string StallWatch::check(const PipelineTotals& totals, const std::map<std::string, std::uint64_t>& expected,
                              bool outstanding, const std::vector<Replica>& replicas, Clock::time_point now) {
  for (const auto& replica : replicas) {
    if (replica.state == ReplicaState::Ready && replica.pid > 0 && now - replica.last_seen > window_) {
      return fmt::format("{} sent nothing for {} ms", replica.identity,
                         std::chrono::duration_cast<std::chrono::milliseconds>(now - replica.last_seen).count());
    }
  }
  std::string stuck;
  for (const auto& [stage, counts] : totals.stages) {
    // Any movement is progress: a stage that drops or dead-letters everything is still working.
    const std::uint64_t sum =
        counts.received + counts.forwarded + counts.dropped + counts.dead_lettered + counts.retried;
    auto it = expected.find(stage);
    const bool short_of_input = it != expected.end() && it->second > counts.received;
    const bool waiting = counts.pending > 0 || (outstanding && short_of_input);
    auto& [last_sum, since] = last_progress_[stage];
    if (!waiting || last_sum != sum || since == Clock::time_point{}) {
      last_sum = sum;
      since = now;
      continue;
    }
    if (stuck.empty() && now - since > window_) {
      stuck = fmt::format("{} has documents waiting and handled none for {} ms", stage,
                          std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count());
    }
  }
  return stuck;
}

}  // namespace vnawire::daemon
