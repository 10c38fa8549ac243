// Where every socket of a pipeline lives: derived from the config alone, so daemon and stages agree.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace vnawire::runtime {

struct PipelineConfig;
struct StageConfig;

// The daemon binds it; every stage connects to it.
std::string control_endpoint(const PipelineConfig& config);
// Where the binding side binds them: the same, or at tcp_bind (`*`) when hosts are names, not addresses.
std::string control_bind_endpoint(const PipelineConfig& config);
std::string output_bind_endpoint(const PipelineConfig& config, const std::string& stage, int replica,
                                 const std::string& consumer);
// Stable points bind: each replica of `stage` binds one PUSH endpoint per consumer stage.
std::string output_endpoint(const PipelineConfig& config, const std::string& stage, int replica,
                            const std::string& consumer);
// Scalable stages connect: a replica of `stage` connects to the endpoint of every upstream replica.
std::vector<std::string> input_endpoints(const PipelineConfig& config, const std::string& stage);
// The file where replica `replica` of `stage` writes what it could not handle.
std::filesystem::path dead_letter_path(const PipelineConfig& config, const std::string& stage, int replica);
// What a stage whose process is a program of the user's finds in its environment, as NAME=value strings:
// its identity, endpoints and timings (docs/protocol.md, "The exec stage in zmq mode").
std::vector<std::string> program_environment(const PipelineConfig& config, const StageConfig& stage, int replica);
// Problems that would stop sockets from binding (ipc paths too long, ports out of range).
std::vector<std::string> check_endpoints(const PipelineConfig& config);

}  // namespace vnawire::runtime
