// `vnawire run --host HOST`: runs and restarts the stage replicas placed on this host, which report to the
// main daemon's control channel over tcp (docs/operations.md, "Across hosts").
#pragma once

#include <string>

#include "daemon/supervisor.h"

namespace vnawire::daemon {

// Runs until every local replica has stopped cleanly (the main daemon drained it) or SIGTERM/SIGINT; a
// replica that crashes or is killed is started again after restart_backoff_ms, doubling. Returns 0 when
// every replica ended with exit code 0.
int run_host_agent(const runtime::PipelineConfig& config, const SupervisorOptions& options, const std::string& host);

}  // namespace vnawire::daemon
