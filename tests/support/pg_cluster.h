// A private PostgreSQL cluster for tests and benchmarks: initdb in a scratch folder, a server on its own
// Unix socket and a free loopback port, stopped and removed by the destructor. Real server, no mocks.
// As root, the server runs as the postgres user (initdb and postgres refuse root).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace vnawire::testing {

class PgCluster {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  // `fsync`: as a production server runs; tests leave it off (faster, and a crash of the host is no concern).
  explicit PgCluster(bool fsync = false) : fsync_(fsync) {
    if (!std::filesystem::exists(std::filesystem::path(kBin) / "initdb")) {
      error_ = std::string("the PostgreSQL server binaries are not installed (") + kBin +
               "/initdb is missing): apt-get install postgresql";
      missing_ = true;
      return;
    }
    char pattern[] = "/tmp/vnawire-pg-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = pattern;
    ::chmod(dir_.c_str(), 0755);  // the postgres user must reach its data and socket folders
    port_ = free_port();
    const std::string owner = ::geteuid() == 0 ? " -o postgres -g postgres" : "";
    if (!run("install -d" + owner + " -m 700 " + data() + " && install -d" + owner + " -m 775 " + socket_dir())) {
      error_ = "cannot create the cluster's folders in " + dir_.string();
      return;
    }
    if (!server("initdb -N -D " + data() + " -U postgres -A trust -E UTF8 --locale=C.UTF-8")) {
      error_ = "initdb failed (see " + (dir_ / "commands.log").string() + ")";
      return;
    }
    initialised_ = true;
    if (!start()) error_ = "the server did not start (see " + data() + "/server.log)";
  }

  ~PgCluster() {
    stop();
    if (!dir_.empty() && std::getenv("VNAWIRE_KEEP_PG") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  bool running() const { return running_; }
  // The binaries are not installed (as opposed to a cluster that failed to start).
  bool binaries_missing() const { return missing_; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // A libpq connection string over the Unix socket.
  std::string dsn() const {
    return "host=" + socket_dir() + " port=" + std::to_string(port_) + " user=postgres dbname=postgres";
  }

  bool start() {
    if (!initialised_ || running_) return running_;
    running_ = server("pg_ctl -D " + data() + " -l " + data() + "/server.log -w -t 60 -o \"-k " + socket_dir() +
                      " -p " + std::to_string(port_) +
                      " -c listen_addresses=127.0.0.1 -c fsync=" + (fsync_ ? "on" : "off") + "\" start");
    return running_;
  }
  bool stop() {
    if (!running_) return true;
    running_ = !server("pg_ctl -D " + data() + " -m fast -w -t 60 stop");
    return !running_;
  }

 private:
  std::string data() const { return (dir_ / "pgdata").string(); }
  std::string socket_dir() const { return (dir_ / "pgsock").string(); }

  bool run(const std::string& command) const {
    const std::string logged = "(" + command + ") >>" + (dir_ / "commands.log").string() + " 2>&1";
    return std::system(logged.c_str()) == 0;
  }
  // A server program, as the postgres user when we are root.
  bool server(const std::string& command) const {
    return run((::geteuid() == 0 ? "runuser -u postgres -- " : "") + std::string(kBin) + "/" + command);
  }

  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    int port = 20000 + ::getpid() % 20000;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
      port = ntohs(address.sin_port);
    }
    if (fd >= 0) ::close(fd);
    return port;
  }

  std::filesystem::path dir_;
  int port_ = 0;
  bool fsync_ = false;
  bool missing_ = false, initialised_ = false, running_ = false;
  std::string error_;
};

}  // namespace vnawire::testing
