// `vnawire replay`: serves a folder of dispatches as a news site until SIGINT or SIGTERM (daemon/replay_server.h).
#include <pthread.h>
#include <signal.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>

#include "daemon/commands.h"
#include "daemon/replay_server.h"
#include "stages/runtime/logging.h"

namespace vnawire::daemon {
namespace {

constexpr const char* kReplayUsage =
    "usage: vnawire replay --dir DIR [--listen HOST:PORT] [--every SECONDS] [--fault KIND[=ARG]@PREFIX[*COUNT][~SECONDS]]...\n"
    "                      [--disallow PREFIX]... [--crawl-delay SECONDS] [--threads N] [--log-level LEVEL]\n"
    "(docs/replay.md describes the site and the faults)\n";

std::optional<double> parse_seconds(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value) || value < 0 || value > 1e6) return std::nullopt;
  return value;
}

bool known_level(const std::string& level) {
  for (const char* name : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (level == name) return true;
  }
  return false;
}

int fail_replay(const std::string& message) {
  std::cerr << "vnawire replay: " << message << "\n";
  return 2;
}

}  // namespace

int cmd_replay(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(
          args, {"--dir", "--listen", "--every", "--fault", "--disallow", "--crawl-delay", "--threads", "--log-level"},
          {}, parsed, "replay")) {
    return 2;
  }
  const std::string* directory = parsed.get("--dir");
  if (directory == nullptr || !parsed.positional.empty()) {
    std::cerr << kReplayUsage;
    return 2;
  }
  replay::ReplaySettings settings;
  settings.directory = *directory;
  settings.listen = "127.0.0.1:8080";
  std::string level = "info";
  for (const auto& [option, value] : parsed.values) {
    if (option == "--listen") {
      settings.listen = value;
    } else if (option == "--every" || option == "--crawl-delay") {
      const auto seconds = parse_seconds(value);
      if (!seconds) return fail_replay(option + " takes a number of seconds, not '" + value + "'");
      if (option == "--every") {
        settings.release_every = std::chrono::milliseconds(std::llround(*seconds * 1000));
      } else {
        settings.robots_crawl_delay = *seconds;
      }
    } else if (option == "--fault") {
      auto fault = replay::parse_fault(value);
      if (!fault) return fail_replay(fault.error());
      settings.faults.push_back(*fault);
    } else if (option == "--disallow") {
      if (!value.starts_with("/") || value.find_first_of("\r\n") != std::string::npos) {
        return fail_replay("--disallow takes a path prefix starting with /, not '" + value + "'");
      }
      settings.robots_disallow.push_back(value);
    } else if (option == "--threads") {
      char* end = nullptr;
      const long threads = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || threads < 1 || threads > 64) {
        return fail_replay("--threads takes a whole number from 1 to 64, not '" + value + "'");
      }
      settings.threads = static_cast<int>(threads);
    } else if (option == "--log-level") {
      if (!known_level(value))
        return fail_replay("--log-level is one of trace, debug, info, warn, error, critical, off");
      level = value;
    }
  }
  std::error_code error;
  if (!std::filesystem::is_directory(settings.directory, error)) return fail_replay("no such folder: " + *directory);
  spdlog::set_default_logger(runtime::make_logger("replay", level));

  // Blocked before the server's threads exist, so they inherit the mask and only sigwait below sees the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  replay::ReplayServer server(settings);
  if (auto started = server.start(); !started) return fail_replay(started.message());
  std::cout << "replay: serving " << server.released() + server.pending() << " file(s) from " << *directory << " at "
            << server.base_url() << "/" << std::endl;
  int received = 0;
  sigwait(&stop_signals, &received);
  spdlog::info("{} received after {} request(s); stopping", received == SIGINT ? "SIGINT" : "SIGTERM",
               server.requests_total());
  server.stop();
  return 0;
}

}  // namespace vnawire::daemon
