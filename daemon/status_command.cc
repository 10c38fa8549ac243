// `vnawire status`: asks a running daemon for /status over HTTP and prints the pipeline at a glance.
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "daemon/commands.h"
#include "daemon/metrics.h"

namespace vnawire::daemon {
namespace {

constexpr const char* kDefaultAddress = "127.0.0.1:9464";
constexpr std::size_t kMaxAnswer = 4 << 20;  // a status page is a few KiB; more is not a vnawire daemon

volatile sig_atomic_t interrupted = 0;

struct Fetched {
  std::string body;
  std::string error;  // why there is no body
};

// One GET over a plain socket: the daemon closes the connection after its answer, so the body is all that
// follows the headers. No HTTP library: this command must start fast and stay small.
Fetched http_get(const std::string& address, const std::string& path) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return {"", "'" + address + "' is not HOST:PORT"};
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return {"", "no vnawire daemon at " + address + ": " + ::gai_strerror(rc)};
  }
  int fd = -1;
  int error = 0;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    std::string why = std::strerror(error);
    if (error == ECONNREFUSED) why = "connection refused";
    return {"", "no vnawire daemon at " + address + ": " + why};
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n\r\n";
  std::string answer;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buffer[16384];
    ssize_t got = 0;
    while ((got = ::recv(fd, buffer, sizeof buffer, 0)) > 0 && answer.size() < kMaxAnswer) {
      answer.append(buffer, static_cast<std::size_t>(got));
    }
  }
  ::close(fd);
  const auto head_end = answer.find("\r\n\r\n");
  if (answer.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) {
    return {"", address + " did not answer like a vnawire daemon"};
  }
  const std::string status_line = answer.substr(0, answer.find("\r\n"));
  if (status_line.find(" 200") == std::string::npos) return {"", address + path + " answered " + status_line};
  return {answer.substr(head_end + 4), ""};
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Prints one table; returns false (after saying why) when the daemon could not be read.
bool print_once(const std::string& address, bool clear) {
  const Fetched fetched = http_get(address, "/status");
  if (!fetched.error.empty()) {
    std::cerr << "vnawire status: " << fetched.error << "\n";
    return false;
  }
  const auto status = nlohmann::json::parse(fetched.body, nullptr, false);
  if (status.is_discarded() || !status.is_object()) {
    std::cerr << "vnawire status: " << address << "/status is not JSON\n";
    return false;
  }
  // Home and clear: the table is redrawn in place rather than scrolled.
  if (clear) std::cout << "\x1b[H\x1b[2J";
  std::cout << render_status_table(status, wall_ms()) << std::flush;
  return true;
}

}  // namespace

int cmd_status(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {"--address"}, {"--watch"}, parsed, "status")) return 2;
  const std::string address = parsed.get("--address") ? *parsed.get("--address") : kDefaultAddress;
  const bool watch = parsed.has("--watch");
  double interval = 2;
  if (!parsed.positional.empty()) {
    char* end = nullptr;
    interval = std::strtod(parsed.positional[0].c_str(), &end);
    if (!watch || parsed.positional.size() > 1 || *end != '\0' || !(interval >= 0.1 && interval <= 3600)) {
      std::cerr << "usage: vnawire status [--address HOST:PORT] [--watch [SECONDS]] (SECONDS from 0.1 to 3600)\n";
      return 2;
    }
  }
  if (!watch) return print_once(address, false) ? 0 : 1;
  struct sigaction on_interrupt {};
  on_interrupt.sa_handler = [](int) { interrupted = 1; };
  ::sigaction(SIGINT, &on_interrupt, nullptr);
  ::sigaction(SIGTERM, &on_interrupt, nullptr);
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  int failures = 0;
  while (!interrupted) {
    // A daemon that restarts (or stops) between two refreshes is reported, and watching goes on.
    failures = print_once(address, terminal) ? 0 : failures + 1;
    if (!terminal) std::cout << "\n";
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(interval);
    while (!interrupted && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace vnawire::daemon
