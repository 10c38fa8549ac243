// The host agent: the part of supervision that must happen where the processes are (start, reap, restart).
// Heartbeats, the drain and acknowledgements stay with the main daemon, which the replicas report to.
#include "daemon/host_agent.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

#include "daemon/child_descriptors.h"
#include "stages/runtime/logging.h"
#include "stages/runtime/stage_runner.h"

namespace vnawire::daemon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct LocalReplica {
  std::string stage;
  int index = 0;
  pid_t pid = -1;
  bool done = false;  // exited 0: it was stopped, by the main daemon or by us
  int last_status = 0;
  milliseconds backoff{0};
  Clock::time_point restart_at{};
};

pid_t start(const LocalReplica& replica, const SupervisorOptions& options, const std::string& snapshot) {
  std::vector<std::string> args = {
      options.executable,        "stage",   "--config",    snapshot,    "--base-dir",
      options.base_dir.string(), "--stage", replica.stage, "--replica", std::to_string(replica.index)};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);
    // As under the main daemon: no stage outlives the process that restarts it.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    close_inherited_descriptors();
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "ended";
}

}  // namespace

int run_host_agent(const runtime::PipelineConfig& config, const SupervisorOptions& options, const std::string& host) {
  auto log = runtime::make_logger("host " + host, config.pipeline.get_string("log_level"));
  std::vector<LocalReplica> replicas;
  const milliseconds first_backoff(config.pipeline.get_int("restart_backoff_ms"));
  const milliseconds max_backoff(config.pipeline.get_int("restart_backoff_max_ms"));
  for (const auto& stage : config.stages) {
    if (stage.host != host) continue;
    if (stage.descriptor->program && !stage.descriptor->program(stage.options).empty()) {
      log->error("stage {} runs a program of its own (exec, zmq mode): it cannot be placed on another host yet",
                 stage.name);
      return 1;
    }
    for (int r = 0; r < stage.replicas; ++r) replicas.push_back({stage.name, r, -1, false, 0, first_backoff, {}});
  }
  if (replicas.empty()) {
    log->error("no stage of {} has `host: {}`: nothing to run here", config.file, host);
    return 1;
  }
  // The replicas read a snapshot, as under the main daemon; one per host, since hosts may share a folder.
  std::error_code ec;
  std::filesystem::create_directories(config.run_dir, ec);
  const auto snapshot = config.run_dir / ("pipeline." + host + ".yaml");
  std::filesystem::copy_file(options.config_path, snapshot, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) {
    log->error("cannot write the config snapshot {}: {}", snapshot.string(), ec.message());
    return 1;
  }

  sigset_t handled;
  sigemptyset(&handled);
  for (int signal : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&handled, signal);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  for (auto& replica : replicas) replica.pid = start(replica, options, snapshot.string());
  log->info("running {} replica(s) for host {}; they report to {}", replicas.size(), host,
            config.pipeline.get_string("tcp_host"));

  bool stopping = false;
  Clock::time_point kill_at{};
  while (true) {
    timespec wait{0, 100 * 1000 * 1000};
    const int signal = ::sigtimedwait(&handled, nullptr, &wait);
    if (signal == SIGTERM || signal == SIGINT) {
      if (stopping) {
        kill_at = Clock::now();  // a second signal: do not wait for the drain
      } else {
        stopping = true;
        kill_at = Clock::now() + milliseconds(config.pipeline.get_int("drain_timeout_ms"));
        log->info("stopping: SIGTERM to every local replica");
      }
      for (auto& replica : replicas) {
        if (replica.pid > 0) ::kill(replica.pid, SIGTERM);
      }
    }
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (auto& replica : replicas) {
        if (replica.pid != pid) continue;
        replica.pid = -1;
        replica.last_status = status;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
          replica.done = true;
          log->debug("{}#{} stopped", replica.stage, replica.index);
        } else if (!stopping) {
          // The main daemon cannot restart what runs here: we do, and it counts the new process's reports.
          log->warn("{}#{} {}; restarting in {} ms", replica.stage, replica.index, describe(status),
                    replica.backoff.count());
          replica.restart_at = Clock::now() + replica.backoff;
          replica.backoff = std::min(replica.backoff * 2, max_backoff);
        }
      }
    }
    const auto now = Clock::now();
    bool all_ended = true;
    for (auto& replica : replicas) {
      if (!replica.done && replica.pid < 0 && !stopping && now >= replica.restart_at) {
        replica.pid = start(replica, options, snapshot.string());
      }
      all_ended = all_ended && replica.pid < 0 && (replica.done || stopping);
    }
    if (all_ended) break;
    if (stopping && now >= kill_at) {
      for (auto& replica : replicas) {
        if (replica.pid > 0) ::kill(replica.pid, SIGKILL);
      }
    }
  }
  int code = 0;
  for (const auto& replica : replicas) {
    if (!replica.done) {
      log->error("{}#{} {} while stopping", replica.stage, replica.index, describe(replica.last_status));
      code = 1;
    }
  }
  if (code == 0) log->info("every replica on host {} stopped cleanly", host);
  return code;
}

}  // namespace vnawire::daemon
