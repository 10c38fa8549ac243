// `vnawire keygen`: a CURVE key pair for a host of a pipeline that spans several (docs/operations.md).
#include <iostream>

#include "daemon/commands.h"
#include "stages/runtime/curve.h"

namespace vnawire::daemon {

int cmd_keygen(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {"--out", "--name"}, {"--force"}, parsed, "keygen")) return 2;
  if (!parsed.positional.empty()) {
    std::cerr << "usage: vnawire keygen [--out DIR] [--name NAME] [--force]\n";
    return 2;
  }
  const std::string* out = parsed.get("--out");
  const std::string* name = parsed.get("--name");
  const std::string dir = out == nullptr ? std::string(".") : *out;
  const std::string key_name = name == nullptr ? std::string("vnawire") : *name;
  if (auto written = runtime::write_key_pair(dir, key_name, parsed.has("--force")); !written) {
    std::cerr << "vnawire keygen: " << written.message() << "\n";
    return 1;
  }
  std::cout << "wrote " << dir << "/" << key_name << ".public (give it to the hosts that must accept this one) and "
            << dir << "/" << key_name << ".secret (mode 0600: keep it on this host)\n";
  return 0;
}

}  // namespace vnawire::daemon
