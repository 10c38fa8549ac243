// What a SIGHUP reload may change in a running pipeline: the plan that turns the old config into the new one.
#pragma once

#include <string>
#include <vector>

#include "stages/runtime/pipeline_config.h"

namespace vnawire::daemon {

// A reload adds or removes sources (stages without inputs) and sinks (stages nothing reads from). Everything
// else (a middle stage added, removed or changed, a stage's options, replicas or inputs beyond the sources
// added or removed, any `pipeline:` option) needs a restart of the daemon, and the whole reload is refused.
struct ReloadPlan {
  std::vector<std::string> refused;  // "needs a restart: <what>", one per change that cannot be applied live
  std::vector<std::string> added;    // stages of the new config to start
  std::vector<std::string> removed;  // stages of the old config to drain and stop
  // Kept stages whose sockets change (a consumer added or removed, an input source added or removed, or
  // tcp ports that moved): their replicas are stopped gracefully and started again on the new config.
  // Whatever such a stop leaves in a socket is sent again by its source's outbox.
  std::vector<std::string> rewired;

  bool ok() const { return refused.empty(); }
  bool changes_nothing() const { return added.empty() && removed.empty() && rewired.empty(); }
};

ReloadPlan plan_reload(const runtime::PipelineConfig& running, const runtime::PipelineConfig& next);

}  // namespace vnawire::daemon
