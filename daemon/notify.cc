// sd_notify through libsystemd, which also handles abstract socket names and credentials.
#include "daemon/notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace vnawire::daemon {

Notifier::Notifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  // Checks WATCHDOG_PID against our pid too; the variables are kept for later sd_notify calls.
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

void Notifier::send(const std::string& message) {
  if (enabled_) (void)sd_notify(0, message.c_str());
}

// STATUS= is one line for `systemctl status`: a newline would end it and start a bogus assignment.
static std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

void Notifier::ready(const std::string& status) { send("READY=1\nSTATUS=" + one_line(status)); }
void Notifier::status(const std::string& status) { send("STATUS=" + one_line(status)); }
void Notifier::watchdog() {
  if (watchdog_.count() > 0) send("WATCHDOG=1");
}
void Notifier::stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + one_line(status)); }
void Notifier::reloading(const std::string& status) { send("RELOADING=1\nSTATUS=" + one_line(status)); }

bool is_service_manager_variable(const std::string& name_value) {
  const std::string_view name = std::string_view(name_value).substr(0, name_value.find('='));
  return name == "NOTIFY_SOCKET" || name == "WATCHDOG_USEC" || name == "WATCHDOG_PID";
}

}  // namespace vnawire::daemon
