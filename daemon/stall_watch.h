// When the pipeline counts as stuck: the condition that stops the daemon's systemd watchdog pings.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/replica.h"

namespace vnawire::daemon {

// The pipeline is stuck, and systemd should restart the daemon, when within the last `window` (the
// watchdog period):
//  - a replica that is running and ready sent nothing (no heartbeat, no report): it is hung or stopped; or
//  - a stage had work waiting (it holds pending documents, or its inputs sent it more than it received while
//    documents are outstanding) and none of its counts (received, forwarded, dropped, dead-lettered,
//    retried) moved.
// "Outstanding": with acknowledgements, some source has documents not yet acknowledged. A copy lost with a
// killed process leaves its consumer's count short for good, but once its source has sent it again and seen
// it acknowledged, nothing waits for it. Without acknowledgements every shortfall counts as waiting.
// A stage with nothing to do is never stuck, however long it idles. A sink retrying against a server that
// is down counts its retries, so it is slow, not stuck. The event loop itself is covered by the pings being
// sent from it: a loop that stops turning stops them too.
class StallWatch {
 public:
  explicit StallWatch(std::chrono::milliseconds window) : window_(window) {}
  // "" when healthy; otherwise why the pipeline looks stuck. `expected` maps each stage to what its inputs
  // sent it so far.
  std::string check(const PipelineTotals& totals, const std::map<std::string, std::uint64_t>& expected,
                    bool outstanding, const std::vector<Replica>& replicas, Clock::time_point now);

 private:
  std::chrono::milliseconds window_;
  std::map<std::string, std::pair<std::uint64_t, Clock::time_point>> last_progress_;  // stage -> (sum, when)
};

}  // namespace vnawire::daemon
