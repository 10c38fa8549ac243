// Runs one stage in this process: sockets, control channel, signals and the main loop.
#pragma once

#include <iosfwd>
#include <string>

#include "stages/runtime/pipeline_config.h"

namespace vnawire::runtime {

// Control channel verbs (frames: [verb, JSON body]; the daemon's ROUTER prepends the stage's identity).
inline constexpr const char* kReady = "READY";          // stage -> daemon: sockets up, accepting work
inline constexpr const char* kHeartbeat = "HEARTBEAT";  // stage -> daemon: alive, with counters
inline constexpr const char* kStopped = "STOPPED";      // stage -> daemon: drained and flushed, final counters
inline constexpr const char* kFailed = "FAILED";        // stage -> daemon: could not start, with the reason
inline constexpr const char* kStop = "STOP";            // daemon -> stage: finish in-flight work and exit
inline constexpr const char* kStats = "STATS";          // daemon -> stage: send a heartbeat now
inline constexpr const char* kAck = "ACK";              // stage -> daemon: acknowledgement reports (ack.h)
inline constexpr const char* kDone = "DONE";            // daemon -> source: these roots are finished

// The identity a replica uses on the control channel: "<stage>#<replica>".
std::string replica_identity(const std::string& stage, int replica);

// Runs replica `replica` of `stage` until STOP or SIGTERM; returns the process exit code
// (0 after a clean stop, 1 when the last flush failed, 2 when the stage cannot start).
int run_stage_process(const PipelineConfig& config, const StageConfig& stage, int replica);

// Runs a processor stage as a filter: JSON Lines records on `in`, the processed records on `out`
// (dropped ones are not written), problems on `err`. Returns the process exit code.
int run_filter(const StageDescriptor& descriptor, const Options& options, const std::string& state_dir,
               std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace vnawire::runtime
