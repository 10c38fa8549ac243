// The daemon's side of systemd's notification protocol (sd_notify): readiness, status, watchdog, stop, reload.
#pragma once

#include <chrono>
#include <string>

namespace vnawire::daemon {

// Every call is a no-op when the daemon was not started by systemd (no NOTIFY_SOCKET), so the supervisor
// calls it unconditionally. Notifications are best effort: a lost datagram must never stop the pipeline.
class Notifier {
 public:
  // Reads NOTIFY_SOCKET and the watchdog settings (WATCHDOG_USEC, for this process's WATCHDOG_PID).
  Notifier();

  bool enabled() const { return enabled_; }
  // The service's WatchdogSec, zero when systemd expects no pings.
  std::chrono::microseconds watchdog_period() const { return watchdog_; }

  void ready(const std::string& status);
  void status(const std::string& status);
  void watchdog();
  void stopping(const std::string& status);
  void reloading(const std::string& status);

 private:
  void send(const std::string& message);
  bool enabled_ = false;
  std::chrono::microseconds watchdog_{0};
};

// The variables systemd sets for the daemon itself, which a child process must not inherit: a stage that
// found NOTIFY_SOCKET would look to systemd like a second main process.
bool is_service_manager_variable(const std::string& name_value);

}  // namespace vnawire::daemon
