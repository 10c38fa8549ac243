// The pipeline configuration file: its schema, loader and the graph checks run before anything starts.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "stages/runtime/options.h"
#include "stages/runtime/stage.h"

namespace vnawire::runtime {

struct StageConfig {
  std::string name;
  std::string type;
  int replicas = 1;
  std::vector<std::string> inputs;
  std::string host;  // where its replicas run (tcp only); empty: under the main daemon, at tcp_host
  std::int64_t hwm = 1000;
  std::int64_t send_timeout_ms = 0;
  bool external = false;  // `supervised_by: systemd`: its processes are started by systemd, not the daemon
  Options options;
  const StageDescriptor* descriptor = nullptr;
};

struct PipelineConfig {
  std::string file;                  // as given, for messages
  Options pipeline;                  // the `pipeline:` section
  std::filesystem::path state_dir;   // absolute
  std::filesystem::path run_dir;     // absolute
  std::vector<StageConfig> stages;   // in file order

  const StageConfig* find(const std::string& name) const;
  // Names of the stages that read from `name`, in file order.
  std::vector<std::string> consumers_of(const std::string& name) const;
  // Stage names sorted so that every stage comes after its inputs.
  std::vector<std::string> topological_order() const;
};

struct LoadedConfig {
  PipelineConfig config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};

// `value` as a path, relative ones taken from `base`, normalised.
std::filesystem::path absolute_from(const std::string& value, const std::filesystem::path& base);

const OptionSpecs& pipeline_option_specs();
const OptionSpecs& stage_entry_specs();

// Reads and validates a configuration file. Relative state_dir and run_dir are taken from `base_dir`
// (the config file's folder when empty).
LoadedConfig load_pipeline_config(const std::string& path, const StageLookup& lookup,
                                  const std::filesystem::path& base_dir = {});
LoadedConfig parse_pipeline_config(const std::string& text, const std::string& file_name,
                                   const std::filesystem::path& base_dir, const StageLookup& lookup);

}  // namespace vnawire::runtime
