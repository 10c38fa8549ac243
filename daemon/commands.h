// The `vnawire` subcommands; main.cc dispatches to them.
#pragma once

#include <string>
#include <vector>

namespace vnawire::daemon {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_check_config(const Args& args);
int cmd_describe(const Args& args);
int cmd_stage(const Args& args);
int cmd_filter(const std::string& stage_type, const Args& args);
int cmd_demo(const Args& args);
int cmd_fetch(const Args& args);         // fetch_command.cc
int cmd_replay(const Args& args);        // replay_command.cc
int cmd_query(const Args& args);         // query_command.cc
int cmd_dead_letters(const Args& args);  // dead_letters_command.cc
int cmd_keygen(const Args& args);        // keygen_command.cc
int cmd_status(const Args& args);        // status_command.cc

// The path of the running vnawire binary, for spawning stage processes.
std::string self_executable();

// A new empty folder under /tmp for a command that keeps no state ("" after printing why, on failure).
std::string make_scratch_dir(const std::string& command);

// Reads `--name value` / `--name=value` options and bare flags. Returns false and prints a message on an
// unknown option. `positional` receives the remaining arguments.
struct ParsedArgs {
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> flags;
  std::vector<std::string> positional;
  const std::string* get(const std::string& name) const;
  bool has(const std::string& flag) const;
};
bool parse_args(const Args& args, const std::vector<std::string>& value_options,
                const std::vector<std::string>& flag_options, ParsedArgs& out, const std::string& command);

}  // namespace vnawire::daemon
