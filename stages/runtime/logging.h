// One logger setup for the daemon and every stage process: stderr, one line per event, the stage named.
#pragma once

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace vnawire::runtime {

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const std::string& level);

}  // namespace vnawire::runtime
