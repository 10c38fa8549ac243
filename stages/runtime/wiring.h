// Where every socket of a pipeline lives: derived from the config alone, so daemon and stages agree.
#pragma once

#include <string>
#include <vector>

namespace vnawire::runtime {

struct PipelineConfig;

// The daemon binds it; every stage connects to it.
std::string control_endpoint(const PipelineConfig& config);
// Stable points bind: each replica of `stage` binds one PUSH endpoint per consumer stage.
std::string output_endpoint(const PipelineConfig& config, const std::string& stage, int replica,
                            const std::string& consumer);
// Scalable stages connect: a replica of `stage` connects to the endpoint of every upstream replica.
std::vector<std::string> input_endpoints(const PipelineConfig& config, const std::string& stage);
// Problems that would stop sockets from binding (ipc paths too long, ports out of range).
std::vector<std::string> check_endpoints(const PipelineConfig& config);

}  // namespace vnawire::runtime
