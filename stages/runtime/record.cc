// Record helpers.
#include "stages/runtime/record.h"

#include <chrono>
#include <ctime>

namespace vnawire::runtime {

std::string iso_now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace vnawire::runtime
