// One logger setup for the daemon and every stage process: stderr, one line per event, the stage named;
// under systemd (stderr connected to the journal) journal entries with PRIORITY, STAGE and INSTANCE fields.
#pragma once

#include <memory>
#include <string>

#include <spdlog/common.h>

namespace spdlog {
class logger;
}

namespace vnawire::runtime {

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const std::string& level);

// The journal fields of a logger: "extract#1" is stage extract, instance (replica) 1; "daemon" has neither.
struct JournalFields {
  std::string component;
  std::string stage;
  std::string instance;
};
JournalFields journal_fields(const std::string& logger_name);
// The syslog priority journald files a level under (err 3, warning 4, info 6, debug 7).
int journal_priority(spdlog::level::level_enum level);

}  // namespace vnawire::runtime
