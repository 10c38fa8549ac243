// run, check-config, describe, stage and the filters: thin layers over the config loader and runtime.
#include "daemon/commands.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <yaml-cpp/yaml.h>

#include "daemon/host_agent.h"
#include "daemon/progress_bar.h"
#include "daemon/supervisor.h"
#include "stages/registry.h"
#include "stages/runtime/stage_runner.h"

namespace vnawire::daemon {
namespace {

runtime::StageLookup registry_lookup() {
  return [](const std::string& type) { return stages::find_stage(type); };
}

// Prints every error of a config and returns whether there were none.
bool report(const runtime::LoadedConfig& loaded) {
  for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
  if (!loaded.ok()) std::cerr << loaded.errors.size() << " error(s) in " << loaded.config.file << "\n";
  return loaded.ok();
}

}  // namespace

const std::string* ParsedArgs::get(const std::string& name) const {
  for (const auto& [key, value] : values) {
    if (key == name) return &value;
  }
  return nullptr;
}

bool ParsedArgs::has(const std::string& flag) const {
  for (const auto& f : flags) {
    if (f == flag) return true;
  }
  return false;
}

bool parse_args(const Args& args, const std::vector<std::string>& value_options,
                const std::vector<std::string>& flag_options, ParsedArgs& out, const std::string& command) {
  auto is_one_of = [](const std::string& s, const std::vector<std::string>& list) {
    for (const auto& item : list) {
      if (item == s) return true;
    }
    return false;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      out.positional.push_back(arg);
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    if (is_one_of(arg, flag_options) && !inline_value) {
      out.flags.push_back(arg);
    } else if (is_one_of(arg, value_options)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          std::cerr << "vnawire " << command << ": " << arg << " needs a value\n";
          return false;
        }
        value = args[++i];
      }
      out.values.emplace_back(arg, value);
    } else {
      std::cerr << "vnawire " << command << ": unknown option " << arg << " (see `vnawire help`)\n";
      return false;
    }
  }
  return true;
}

std::string self_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("vnawire") : path.string();
}

std::string make_scratch_dir(const std::string& command) {
  std::string pattern = "/tmp/vnawire-" + command + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::cerr << "vnawire " << command << ": cannot create a scratch folder under /tmp\n";
    return "";
  }
  return pattern;
}

int cmd_check_config(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {}, {}, parsed, "check-config")) return 2;
  if (parsed.positional.size() != 1) {
    std::cerr << "usage: vnawire check-config FILE\n";
    return 2;
  }
  auto loaded = runtime::load_pipeline_config(parsed.positional[0], registry_lookup());
  if (!report(loaded)) return 1;
  std::size_t processes = 0;
  for (const auto& stage : loaded.config.stages) processes += static_cast<std::size_t>(stage.replicas);
  std::cout << parsed.positional[0] << ": ok (" << loaded.config.stages.size() << " stages, " << processes
            << " processes)\n";
  return 0;
}

int cmd_describe(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {}, {}, parsed, "describe")) return 2;
  std::cout << "pipeline: (the `pipeline:` section)\n"
            << runtime::describe_options(runtime::pipeline_option_specs(), "  ");
  std::cout << "\nstage entry: (each item of `stages:`)\n"
            << runtime::describe_options(runtime::stage_entry_specs(), "  ");
  for (const auto* descriptor : stages::all_stages()) {
    const char* role = descriptor->role == runtime::StageRole::Source ? "source"
                       : descriptor->role == runtime::StageRole::Sink ? "sink"
                                                                      : "processor";
    std::cout << "\nstage type " << descriptor->type << " (" << role << ", up to " << descriptor->max_replicas
              << " replica(s))\n  " << descriptor->description << "\n  options:\n"
              << runtime::describe_options(descriptor->options, "    ");
  }
  return 0;
}

int cmd_run(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {"-c", "--config", "--host"}, {"--no-progress"}, parsed, "run")) return 2;
  const std::string* path = parsed.get("-c");
  if (path == nullptr) path = parsed.get("--config");
  if (path == nullptr && parsed.positional.size() == 1) path = &parsed.positional[0];
  if (path == nullptr) {
    std::cerr << "usage: vnawire run -c FILE [--host HOST] [--no-progress]\n";
    return 2;
  }
  auto loaded = runtime::load_pipeline_config(*path, registry_lookup());
  if (!report(loaded)) return 1;
  SupervisorOptions options;
  options.executable = self_executable();
  options.config_path = *path;
  options.lookup = registry_lookup();
  options.base_dir = std::filesystem::absolute(std::filesystem::path(*path)).parent_path();
  // On another host, only the replicas placed there; they report to the main daemon (docs/operations.md).
  if (const std::string* host = parsed.get("--host")) return run_host_agent(loaded.config, options, *host);
  // A backfill (a source reading WARC files) shows its progress on a terminal, below the log lines.
  ProgressBar backfill("backfill", ProgressUnit::Bytes, STDERR_FILENO);
  if (!parsed.has("--no-progress") && backfill.on_terminal()) {
    options.on_display = [&backfill](const PipelineTotals& totals) {
      std::uint64_t done = 0, total = 0;
      for (const auto& [name, stage] : totals.stages) {
        done += stage.progress_done;
        total += stage.progress_total;
      }
      if (total == 0) return;
      backfill.update(done, total);
      if (done >= total) backfill.finish();
    };
  }
  Supervisor supervisor(loaded.config, options);
  const int code = supervisor.run();
  backfill.finish();
  return code;
}

int cmd_stage(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {"--config", "--base-dir", "--stage", "--replica"}, {}, parsed, "stage")) return 2;
  const std::string* config = parsed.get("--config");
  const std::string* stage = parsed.get("--stage");
  if (config == nullptr || stage == nullptr) {
    std::cerr << "usage: vnawire stage --config FILE --stage NAME [--replica N] [--base-dir DIR]\n";
    return 2;
  }
  const std::string* base = parsed.get("--base-dir");
  auto loaded = runtime::load_pipeline_config(*config, registry_lookup(),
                                              base ? std::filesystem::path(*base) : std::filesystem::path());
  if (!report(loaded)) return 2;
  const runtime::StageConfig* stage_config = loaded.config.find(*stage);
  if (stage_config == nullptr) {
    std::cerr << "vnawire stage: no stage named '" << *stage << "' in " << *config << "\n";
    return 2;
  }
  int replica = 0;
  if (const std::string* r = parsed.get("--replica")) {
    try {
      replica = std::stoi(*r);
    } catch (const std::exception&) {
      replica = -1;
    }
  }
  if (replica < 0 || replica >= stage_config->replicas) {
    std::cerr << "vnawire stage: replica must be between 0 and " << stage_config->replicas - 1 << "\n";
    return 2;
  }
  return runtime::run_stage_process(loaded.config, *stage_config, replica);
}

int cmd_filter(const std::string& stage_type, const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {"--state-dir", "--options"}, {}, parsed, stage_type)) return 2;
  const runtime::StageDescriptor* descriptor = stages::find_stage(stage_type);
  if (descriptor == nullptr) return 2;
  runtime::Options options = runtime::default_options(descriptor->options);
  // Options as in a config file's stage entry, e.g. to compare dedupe's near_method on a scored set.
  if (const std::string* given = parsed.get("--options")) {
    std::vector<runtime::ConfigError> errors;
    YAML::Node node;
    try {
      node = YAML::Load(*given);
    } catch (const YAML::Exception& e) {
      std::cerr << "vnawire " << stage_type << ": --options is not YAML: " << e.what() << "\n";
      return 2;
    }
    options = runtime::bind_options(node, descriptor->options, "--options", "", errors);
    for (const auto& error : errors) std::cerr << "vnawire " << stage_type << ": " << error.to_string() << "\n";
    if (!errors.empty()) return 2;
  }
  // As a filter, dedupe must tag and pass every record so that its decisions can be read.
  if (stage_type == "dedupe") {
    options.set("action", std::string("tag"));
    options.set("near_action", std::string("tag"));
  }
  std::string state_dir;
  std::filesystem::path scratch;
  if (const std::string* dir = parsed.get("--state-dir")) {
    state_dir = *dir;
  } else {
    state_dir = make_scratch_dir(stage_type);
    if (state_dir.empty()) return 2;
    scratch = state_dir;
  }
  std::ios::sync_with_stdio(false);
  const int code = runtime::run_filter(*descriptor, options, state_dir, std::cin, std::cout, std::cerr);
  if (!scratch.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  return code;
}

}  // namespace vnawire::daemon
