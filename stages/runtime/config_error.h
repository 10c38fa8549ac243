// Where a problem in a configuration file is: one type for the pipeline file and the files it names
// (site profiles), header-only so that runtime-free libraries report problems the same way.
#pragma once

#include <string>

namespace vnawire::runtime {

// Printed as file:line:col: key: reason.
struct ConfigError {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  std::string key;
  std::string reason;
  std::string to_string() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    return out + ": " + (key.empty() ? "(document)" : key) + ": " + reason;
  }
};

}  // namespace vnawire::runtime
