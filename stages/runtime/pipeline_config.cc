// Loads the pipeline file and checks all of it (keys, types, graph) so that no process starts on a bad one.
#include "stages/runtime/pipeline_config.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "stages/runtime/curve.h"
#include "stages/runtime/wiring.h"

namespace vnawire::runtime {
namespace {

ConfigError at(const YAML::Node& node, const std::string& file, std::string key, std::string reason) {
  const YAML::Mark mark = node.Mark();
  return ConfigError{file, mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0, std::move(key),
                     std::move(reason)};
}

// "" or "off", or an IP address and a port: "127.0.0.1:9464", "[::1]:9464".
bool valid_metrics_address(const std::string& text) {
  if (text.empty() || text == "off") return true;
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size() || text.size() - colon > 6) return false;
  const std::string port = text.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) return false;
  std::string host = text.substr(0, colon);
  unsigned char address[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return ::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), address) == 1;
  }
  return ::inet_pton(AF_INET, host.c_str(), address) == 1;
}

bool valid_stage_name(const std::string& name) {
  if (name.empty() || name.size() > 40) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void check_graph(const PipelineConfig& config, const std::map<std::string, YAML::Node>& nodes, const std::string& file,
                 std::vector<ConfigError>& errors) {
  bool has_source = false;
  for (std::size_t i = 0; i < config.stages.size(); ++i) {
    const StageConfig& stage = config.stages[i];
    const YAML::Node& node = nodes.at(stage.name);
    const std::string key = "stages[" + std::to_string(i) + "]";
    if (stage.descriptor == nullptr) continue;
    const StageRole role = stage.descriptor->role;
    has_source = has_source || role == StageRole::Source;
    if (role == StageRole::Source && !stage.inputs.empty()) {
      errors.push_back(
          at(node["inputs"], file, key + ".inputs", "a " + stage.type + " stage is a source and reads no input"));
    }
    if (role != StageRole::Source && stage.inputs.empty()) {
      errors.push_back(at(node, file, key + ".inputs", "stage '" + stage.name + "' needs at least one input stage"));
    }
    if (stage.replicas > stage.descriptor->max_replicas) {
      errors.push_back(at(
          node["replicas"], file, key + ".replicas",
          "a " + stage.type + " stage runs at most " + std::to_string(stage.descriptor->max_replicas) + " replica(s)"));
    }
    std::set<std::string> seen;
    for (const auto& input : stage.inputs) {
      const StageConfig* upstream = config.find(input);
      if (upstream == nullptr) {
        errors.push_back(at(node["inputs"], file, key + ".inputs", "unknown stage '" + input + "'"));
      } else if (input == stage.name) {
        errors.push_back(at(node["inputs"], file, key + ".inputs", "a stage cannot read from itself"));
      } else if (upstream->descriptor != nullptr && upstream->descriptor->role == StageRole::Sink) {
        errors.push_back(at(node["inputs"], file, key + ".inputs", "'" + input + "' is a sink and has no output"));
      }
      if (!seen.insert(input).second) {
        errors.push_back(at(node["inputs"], file, key + ".inputs", "input '" + input + "' listed twice"));
      }
    }
  }
  if (!config.stages.empty() && !has_source) {
    errors.push_back(ConfigError{file, 0, 0, "stages", "the pipeline has no source stage (such as fetch)"});
  }
  if (errors.empty() && config.topological_order().size() != config.stages.size()) {
    errors.push_back(ConfigError{file, 0, 0, "stages", "the stage inputs form a cycle"});
  }
}

}  // namespace

std::filesystem::path absolute_from(const std::string& value, const std::filesystem::path& base) {
  std::filesystem::path p(value);
  return (p.is_absolute() ? p : base / p).lexically_normal();
}

const OptionSpecs& pipeline_option_specs() {
  static const OptionSpecs specs = {
      {"state_dir", OptionType::String, std::string("/var/lib/vnawire"),
       "Folder for the pipeline's durable state (databases, dead letters); relative paths in stage options are "
       "taken under it."},
      {"run_dir", OptionType::String, std::string(""),
       "Folder for the ipc:// sockets and the config snapshot; empty means <state_dir>/run."},
      {"transport",
       OptionType::String,
       std::string("ipc"),
       "How stages talk: ipc (Unix sockets under run_dir) or tcp (tcp_host and ports from tcp_base_port).",
       false,
       std::nullopt,
       std::nullopt,
       {"ipc", "tcp"}},
      {"tcp_host", OptionType::String, std::string("127.0.0.1"),
       "Address that tcp endpoints bind and connect to: the daemon's control channel and the stages without a "
       "`host`."},
      {"tcp_bind", OptionType::String, std::string(""),
       "Address tcp endpoints bind to instead of their host's (`*` for every interface, as when hosts are DNS "
       "names such as Kubernetes Services); empty binds the host's own address."},
      {"tcp_base_port", OptionType::Int, std::int64_t{5570},
       "First tcp port: the control channel uses it, data endpoints the following ones.", false, 1024.0, 65000.0},
      {"log_level",
       OptionType::String,
       std::string("info"),
       "Log level of the daemon and every stage.",
       false,
       std::nullopt,
       std::nullopt,
       {"trace", "debug", "info", "warn", "error"}},
      {"heartbeat_ms", OptionType::Int, std::int64_t{1000}, "How often a stage reports to the daemon.", false, 50.0,
       60000.0},
      {"stage_timeout_ms", OptionType::Int, std::int64_t{10000},
       "A stage that sends no READY or heartbeat for this long is killed and restarted.", false, 500.0, 600000.0},
      {"restart_backoff_ms", OptionType::Int, std::int64_t{250},
       "First delay before restarting a crashed stage; doubles on each crash.", false, 10.0, 60000.0},
      {"restart_backoff_max_ms", OptionType::Int, std::int64_t{30000}, "Longest delay between restarts.", false, 10.0,
       3600000.0},
      {"drain_timeout_ms", OptionType::Int, std::int64_t{30000},
       "On stop, how long to wait for in-flight documents to reach the sinks.", false, 100.0, 3600000.0},
      {"flush_interval_ms", OptionType::Int, std::int64_t{500},
       "How often stages make their work durable (sink commits, state files).", false, 10.0, 600000.0},
      {"acknowledgements", OptionType::Bool, true,
       "Track every document from its source to the sinks: a source keeps what it sent in its outbox until every "
       "copy is stored, dropped or dead-lettered, and sends it again otherwise (docs/protocol.md)."},
      {"ack_timeout_ms", OptionType::Int, std::int64_t{30000},
       "How long a source waits for a document's acknowledgement before sending it again; the wait doubles with "
       "each attempt, up to 16 times this.",
       false, 100.0, 86400000.0},
      {"max_attempts", OptionType::Int, std::int64_t{8},
       "Sends of a document that is never acknowledged before the source dead-letters it with its history.", false, 1.0,
       1000.0},
      {"max_in_flight", OptionType::Int, std::int64_t{10000},
       "Documents a source replica may have sent and not yet had acknowledged; at this many it stops producing "
       "(back-pressure when a sink is down).",
       false, 1.0, 10000000.0},
      {"max_message_bytes", OptionType::Int, std::int64_t{256} << 20,
       "Largest encoded document (both frames) a stage accepts or sends; a stage dead-letters a larger one it "
       "made instead of sending it, since ZeroMQ would drop the connection and the document with it.",
       false, 65536.0, 1073741824.0},
      {"batch_documents", OptionType::Int, std::int64_t{16},
       "Documents a stage may hand to a vnawire stage process in one ZeroMQ message: what is ready at once goes "
       "together (nothing waits for a batch to fill), so that a busy pipeline pays the transport's costs per "
       "message once for several documents; 1 sends each alone (docs/protocol.md).",
       false, 1.0, 1024.0},
      {kCurveServerSecretKey, OptionType::String, std::string(""),
       "CURVE: file of the secret key every binding side (daemon control channel, stage outputs) serves with; "
       "with the three below it encrypts and authenticates every tcp socket (docs/operations.md)."},
      {kCurveServerPublicKey, OptionType::String, std::string(""),
       "CURVE: file of the public key of curve_server_secret_key, which connecting sides check the server by."},
      {kCurveSecretKey, OptionType::String, std::string(""),
       "CURVE: file of this host's own secret key, which its connecting sockets present (`vnawire keygen`)."},
      {kCurveAuthorizedKeys, OptionType::String, std::string(""),
       "CURVE: folder of the *.public keys allowed to connect; a client with another key is refused and the "
       "refusal logged."},
      {"metrics_address", OptionType::String, std::string("127.0.0.1:9464"),
       "Where the daemon serves /metrics (Prometheus), /healthz, /readyz and /status (docs/metrics.md): "
       "IP:PORT, port 0 for any free one; \"\" or off for none. When the file does not set it, "
       "$VNAWIRE_METRICS_ADDRESS is the default if set."},
  };
  return specs;
}

const OptionSpecs& stage_entry_specs() {
  static const OptionSpecs specs = {
      {"name", OptionType::String, {}, "The stage's name, unique in the pipeline ([a-z0-9_-]).", true},
      {"type", OptionType::String, {}, "The stage type (see `vnawire describe`).", true},
      {"replicas", OptionType::Int, std::int64_t{1}, "How many processes run this stage.", false, 1.0, 64.0},
      {"inputs", OptionType::StringList, std::vector<std::string>{}, "The stages this one reads from."},
      {"host", OptionType::String, std::string(""),
       "With transport tcp: the host this stage's replicas run on (`vnawire run --host` there starts them) and "
       "whose address their outputs bind; empty runs them under the main daemon at tcp_host."},
      // 100, not ZeroMQ's 1000: at 60 KB pages a full queue of 1000 held 50-85 MB in dedupe (bench/pipeline_bench.py,
      // VNAWIRE_BENCH_HWM), and 100 gave the same throughput in that bench, text and HTML.
      {"hwm", OptionType::Int, std::int64_t{100},
       "High-water mark of the stage's sockets: ZeroMQ's, in messages, is this divided by batch_documents where "
       "batches go, so what waits between two stages is bounded by about twice this many documents in full "
       "batches, fewer in smaller ones.",
       false, 1.0, 1000000.0},
      {"send_timeout_ms", OptionType::Int, std::int64_t{0},
       "Longest wait to hand a document downstream, counted from its queueing or from when downstream last took one, "
       "whichever is later, before it is dead-lettered; 0 waits while the stage runs.",
       false, 0.0, 3600000.0},
      {"supervised_by",
       OptionType::String,
       std::string("daemon"),
       "Who starts the stage's processes: the daemon, or systemd (vnawire-stage@<name>.service; the daemon then "
       "waits for their READY and stops them in the drain, docs/operations.md).",
       false,
       std::nullopt,
       std::nullopt,
       {"daemon", "systemd"}},
      // `options` is checked against the stage type's own table, below.
      {"options", OptionType::Section, {}, "The stage type's options (see `vnawire describe`)."},
  };
  return specs;
}

const StageConfig* PipelineConfig::find(const std::string& name) const {
  for (const auto& stage : stages) {
    if (stage.name == name) return &stage;
  }
  return nullptr;
}

std::vector<std::string> PipelineConfig::consumers_of(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& stage : stages) {
    for (const auto& input : stage.inputs) {
      if (input == name) out.push_back(stage.name);
    }
  }
  return out;
}

std::vector<std::string> PipelineConfig::topological_order() const {
  std::vector<std::string> order;
  std::set<std::string> placed;
  bool progress = true;
  while (progress && order.size() < stages.size()) {
    progress = false;
    for (const auto& stage : stages) {
      if (placed.count(stage.name)) continue;
      bool ready = true;
      for (const auto& input : stage.inputs) ready = ready && (placed.count(input) || !find(input));
      if (ready) {
        order.push_back(stage.name);
        placed.insert(stage.name);
        progress = true;
      }
    }
  }
  return order;
}

LoadedConfig parse_pipeline_config(const std::string& text, const std::string& file_name,
                                   const std::filesystem::path& base_dir, const StageLookup& lookup) {
  LoadedConfig loaded;
  PipelineConfig& config = loaded.config;
  auto& errors = loaded.errors;
  config.file = file_name;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    errors.push_back(ConfigError{file_name, e.mark.line + 1, e.mark.column + 1, "(syntax)", e.msg});
    return loaded;
  }
  if (!root.IsMap()) {
    errors.push_back(ConfigError{file_name, 1, 1, "(document)", "expected a map with `pipeline` and `stages`"});
    return loaded;
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (key != "pipeline" && key != "stages") {
      errors.push_back(at(entry.first, file_name, key, "unknown key (known: pipeline, stages)"));
    }
  }
  config.pipeline = bind_options(root["pipeline"], pipeline_option_specs(), file_name, "pipeline", errors);
  // Several daemons on one host (test runs, a demo beside a service) each need their own port: the
  // environment can give the default, a file's own value always wins.
  const YAML::Node pipeline_node = root["pipeline"];
  const bool address_given = pipeline_node.IsMap() && pipeline_node["metrics_address"].IsDefined();
  if (const char* from_env = std::getenv("VNAWIRE_METRICS_ADDRESS"); from_env != nullptr && !address_given) {
    config.pipeline.set("metrics_address", std::string(from_env));
  }
  if (!valid_metrics_address(config.pipeline.get_string("metrics_address"))) {
    errors.push_back(address_given ? at(pipeline_node["metrics_address"], file_name, "pipeline.metrics_address",
                                        "expected IP:PORT (127.0.0.1:9464, [::1]:9464), \"\" or off")
                                   : ConfigError{file_name, 0, 0, "VNAWIRE_METRICS_ADDRESS",
                                                 "expected IP:PORT (127.0.0.1:9464), \"\" or off"});
  }
  if (errors.empty()) {
    // Key files are checked here, so a bad one stops the start with the file, line and key at fault.
    const YAML::Node section = root["pipeline"];
    for (auto& problem : check_curve_options(config.pipeline, base_dir)) {
      const bool given = section.IsMap() && section[problem.key].IsDefined();
      errors.push_back(
          at(given ? section[problem.key] : section, file_name, "pipeline." + problem.key, std::move(problem.reason)));
    }
  }
  const bool pipeline_ok = errors.empty();
  config.state_dir = absolute_from(config.pipeline.get_string("state_dir"), base_dir);
  const std::string& run_dir = config.pipeline.get_string("run_dir");
  config.run_dir = run_dir.empty() ? config.state_dir / "run" : absolute_from(run_dir, base_dir);

  const YAML::Node stages = root["stages"];
  if (!stages.IsDefined() || stages.IsNull()) {
    errors.push_back(ConfigError{file_name, 0, 0, "stages", "required key is missing (the list of stages)"});
    return loaded;
  }
  if (!stages.IsSequence() || stages.size() == 0) {
    errors.push_back(at(stages, file_name, "stages", "expected a non-empty list of stages"));
    return loaded;
  }
  std::map<std::string, YAML::Node> nodes;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const YAML::Node node = stages[i];
    const std::string key = "stages[" + std::to_string(i) + "]";
    if (!node.IsMap()) {
      errors.push_back(at(node, file_name, key, "expected a map with name, type and options"));
      continue;
    }
    const YAML::Mark mark = node.Mark();
    StageConfig stage;
    Options entry = bind_options(node, stage_entry_specs(), file_name, key, errors, mark.line + 1, mark.column + 1);
    if (!entry.has("name") || !entry.has("type")) continue;
    stage.name = entry.get_string("name");
    stage.type = entry.get_string("type");
    stage.replicas = static_cast<int>(entry.get_int("replicas"));
    stage.inputs = entry.get_list("inputs");
    stage.host = entry.get_string("host");
    if (!stage.host.empty() && config.pipeline.has("transport") && config.pipeline.get_string("transport") != "tcp") {
      errors.push_back(at(node["host"], file_name, key + ".host", "a stage on another host needs transport: tcp"));
    }
    stage.hwm = entry.get_int("hwm");
    stage.send_timeout_ms = entry.get_int("send_timeout_ms");
    stage.external = entry.get_string("supervised_by") == "systemd";
    if (stage.external && !stage.host.empty()) {
      // On another host its host agent starts it; systemd there would start a second one.
      errors.push_back(at(node["supervised_by"], file_name, key + ".supervised_by",
                          "a stage on another host (host:) is started by that host's agent, not by systemd"));
    }
    if (!valid_stage_name(stage.name)) {
      errors.push_back(at(node["name"], file_name, key + ".name",
                          "'" + stage.name + "' is not a valid stage name (1-40 of a-z, 0-9, _ and -)"));
      continue;
    }
    if (nodes.count(stage.name)) {
      errors.push_back(at(node["name"], file_name, key + ".name", "stage name '" + stage.name + "' is used twice"));
      continue;
    }
    stage.descriptor = lookup(stage.type);
    if (stage.descriptor == nullptr) {
      errors.push_back(at(node["type"], file_name, key + ".type",
                          "unknown stage type '" + stage.type + "' (see `vnawire describe`)"));
    } else {
      const std::size_t errors_before = errors.size();
      stage.options = bind_options(node["options"], stage.descriptor->options, file_name, key + ".options", errors,
                                   mark.line + 1, mark.column + 1);
      // Options that are each valid may still not go together: the stage type says which.
      if (stage.descriptor->check && pipeline_ok && errors.size() == errors_before) {
        const YAML::Node given = node["options"];
        for (auto& problem : stage.descriptor->check(stage.options, config.pipeline)) {
          if (problem.line > 0) {
            errors.push_back(ConfigError{file_name, problem.line, problem.column, key + ".options." + problem.key,
                                         std::move(problem.reason)});
            continue;
          }
          // A key left at its default is not in the file: point at the stage entry instead.
          const bool in_file = given.IsDefined() && given.IsMap() && given[problem.key].IsDefined();
          errors.push_back(at(in_file ? given[problem.key] : node, file_name, key + ".options." + problem.key,
                              std::move(problem.reason)));
        }
      }
    }
    nodes.emplace(stage.name, node);
    config.stages.push_back(std::move(stage));
  }
  if (errors.empty()) check_graph(config, nodes, file_name, errors);
  for (std::size_t i = 0; errors.empty() && i < config.stages.size(); ++i) {
    const StageConfig& stage = config.stages[i];
    // A program of the user's speaks plain ZeroMQ: it could not pass the CURVE handshake and would wait forever.
    const bool program = stage.descriptor->program && !stage.descriptor->program(stage.options).empty();
    if (program && curve_enabled(config)) {
      errors.push_back(at(nodes.at(stage.name), file_name, "stages[" + std::to_string(i) + "].options.mode",
                          "a program of its own (mode: zmq) cannot join a pipeline with CURVE keys; use mode: jsonl"));
    }
  }
  if (errors.empty()) {
    for (auto& problem : check_endpoints(config)) {
      errors.push_back(ConfigError{file_name, 0, 0, "pipeline", problem});
    }
  }
  return loaded;
}

LoadedConfig load_pipeline_config(const std::string& path, const StageLookup& lookup,
                                  const std::filesystem::path& base_dir) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadedConfig loaded;
    loaded.config.file = path;
    loaded.errors.push_back(ConfigError{path, 0, 0, "(file)", "cannot open the configuration file"});
    return loaded;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::filesystem::path base = base_dir;
  if (base.empty()) base = std::filesystem::absolute(std::filesystem::path(path)).parent_path();
  return parse_pipeline_config(text.str(), path, base, lookup);
}

}  // namespace vnawire::runtime
