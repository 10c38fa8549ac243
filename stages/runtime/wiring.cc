// Endpoint naming: ipc:// paths under run_dir, or tcp ports counted up from tcp_base_port.
#include "stages/runtime/wiring.h"

#include "stages/runtime/codec.h"
#include "stages/runtime/pipeline_config.h"
#include "stages/runtime/stage_runner.h"

namespace vnawire::runtime {
namespace {

// sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t kMaxIpcPath = 107;

bool use_tcp(const PipelineConfig& config) { return config.pipeline.get_string("transport") == "tcp"; }

// A stage's endpoints are at its own host; the control channel and stages without a host at tcp_host.
std::string tcp(const PipelineConfig& config, std::int64_t offset, const std::string& host = "") {
  return "tcp://" + (host.empty() ? config.pipeline.get_string("tcp_host") : host) + ":" +
         std::to_string(config.pipeline.get_int("tcp_base_port") + offset);
}

std::string stage_host(const PipelineConfig& config, const std::string& stage) {
  const StageConfig* found = config.find(stage);
  return found == nullptr ? std::string() : found->host;
}

// The position of (stage, replica, consumer) in file order: the tcp port offset of that endpoint.
std::int64_t endpoint_index(const PipelineConfig& config, const std::string& stage, int replica,
                            const std::string& consumer) {
  std::int64_t index = 0;
  for (const auto& candidate : config.stages) {
    auto consumers = config.consumers_of(candidate.name);
    for (int r = 0; r < candidate.replicas; ++r) {
      for (const auto& c : consumers) {
        if (candidate.name == stage && r == replica && c == consumer) return index;
        ++index;
      }
    }
  }
  return index;
}

}  // namespace

std::string control_endpoint(const PipelineConfig& config) {
  if (use_tcp(config)) return tcp(config, 0);
  return "ipc://" + (config.run_dir / "control").string();
}

std::string output_endpoint(const PipelineConfig& config, const std::string& stage, int replica,
                            const std::string& consumer) {
  if (use_tcp(config)) {
    return tcp(config, 1 + endpoint_index(config, stage, replica, consumer), stage_host(config, stage));
  }
  return "ipc://" + (config.run_dir / (stage + "." + std::to_string(replica) + ".to." + consumer)).string();
}

std::string control_bind_endpoint(const PipelineConfig& config) {
  const std::string& bind = config.pipeline.get_string("tcp_bind");
  if (!use_tcp(config) || bind.empty()) return control_endpoint(config);
  return tcp(config, 0, bind);
}

std::string output_bind_endpoint(const PipelineConfig& config, const std::string& stage, int replica,
                                 const std::string& consumer) {
  const std::string& bind = config.pipeline.get_string("tcp_bind");
  if (!use_tcp(config) || bind.empty()) return output_endpoint(config, stage, replica, consumer);
  return tcp(config, 1 + endpoint_index(config, stage, replica, consumer), bind);
}

std::vector<std::string> input_endpoints(const PipelineConfig& config, const std::string& stage) {
  std::vector<std::string> out;
  const StageConfig* self = config.find(stage);
  if (self == nullptr) return out;
  for (const auto& input : self->inputs) {
    const StageConfig* upstream = config.find(input);
    if (upstream == nullptr) continue;
    for (int r = 0; r < upstream->replicas; ++r) out.push_back(output_endpoint(config, input, r, stage));
  }
  return out;
}

std::filesystem::path dead_letter_path(const PipelineConfig& config, const std::string& stage, int replica) {
  return config.state_dir / "deadletter" / (stage + "." + std::to_string(replica) + ".jsonl");
}

std::vector<std::string> program_environment(const PipelineConfig& config, const StageConfig& stage, int replica) {
  std::string inputs;
  for (const auto& endpoint : input_endpoints(config, stage.name)) inputs += (inputs.empty() ? "" : " ") + endpoint;
  const auto number = [](auto value) { return std::to_string(value); };
  // Version 2 (tokens in the headers, ACK expected) only for a program whose stage says it acknowledges.
  const bool acknowledges = !stage.descriptor->acknowledges || stage.descriptor->acknowledges(stage.options);
  return {
      "VNAWIRE_PROTOCOL=" + number(acknowledges ? kProtocolVersion : 1),
      "VNAWIRE_STAGE=" + stage.name,
      "VNAWIRE_REPLICA=" + number(replica),
      "VNAWIRE_IDENTITY=" + replica_identity(stage.name, replica),
      "VNAWIRE_CONTROL=" + control_endpoint(config),
      "VNAWIRE_INPUTS=" + inputs,
      "VNAWIRE_HEARTBEAT_MS=" + number(config.pipeline.get_int("heartbeat_ms")),
      "VNAWIRE_DRAIN_TIMEOUT_MS=" + number(config.pipeline.get_int("drain_timeout_ms")),
      "VNAWIRE_HWM=" + number(stage.hwm),
      "VNAWIRE_MAX_MESSAGE_BYTES=" + number(config.pipeline.get_int("max_message_bytes")),
      "VNAWIRE_STATE_DIR=" + (config.state_dir / stage.name).string(),
      "VNAWIRE_DEAD_LETTER=" + dead_letter_path(config, stage.name, replica).string(),
  };
}

std::vector<std::string> check_endpoints(const PipelineConfig& config) {
  std::vector<std::string> problems;
  if (use_tcp(config)) {
    std::int64_t last = config.pipeline.get_int("tcp_base_port");
    for (const auto& stage : config.stages) {
      last +=
          static_cast<std::int64_t>(stage.replicas) * static_cast<std::int64_t>(config.consumers_of(stage.name).size());
    }
    if (last > 65535) problems.push_back("tcp ports run past 65535: lower tcp_base_port");
    return problems;
  }
  for (const auto& stage : config.stages) {
    for (const auto& consumer : config.consumers_of(stage.name)) {
      std::string path = output_endpoint(config, stage.name, stage.replicas - 1, consumer).substr(6);
      if (path.size() > kMaxIpcPath) {
        problems.push_back("ipc path '" + path + "' is longer than 107 bytes: choose a shorter run_dir");
        return problems;
      }
    }
  }
  return problems;
}

}  // namespace vnawire::runtime
