// The supervisor's children: starting a replica's process (fork/exec), reaping it or noticing the end of an
// adopted one, restarting a crashed one after a growing delay, and signalling them all at a stop.
#include "daemon/supervisor_impl.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "daemon/child_descriptors.h"
#include "stages/runtime/wiring.h"

namespace vnawire::daemon {

using std::chrono::milliseconds;

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "ended";
}

// A replica runs `vnawire stage`, or the user's program for a stage that names one (exec in zmq mode), found
// on PATH, with the daemon's environment plus the stage's endpoints.
void Supervisor::Impl::spawn(Replica& replica) {
  if (replica.remote) {
    // Its host agent starts it; until its READY it is starting, and held to stage_timeout_ms like any.
    replica.state = ReplicaState::Starting;
    replica.started = replica.last_seen = Clock::now();
    return;
  }
  const runtime::StageConfig& stage = *config_.find(replica.stage);
  if (stage.external) {
    // systemd starts it (vnawire-stage@.service): its READY names the process, which is adopted then.
    replica.state = ReplicaState::Starting;
    replica.started = replica.last_seen = Clock::now();
    replica.pid = -1;
    return;
  }
  std::vector<std::string> args;
  std::vector<std::string> environment;
  if (stage.descriptor->program) args = stage.descriptor->program(stage.options);
  const bool program = !args.empty();
  if (!program) {
    args = {options_.executable,        "stage",   "--config", snapshot_,   "--base-dir",
            options_.base_dir.string(), "--stage", stage.name, "--replica", std::to_string(replica.index)};
    for (char** variable = environ; *variable != nullptr; ++variable) {
      if (!is_service_manager_variable(*variable)) environment.emplace_back(*variable);
    }
  } else {
    environment = runtime::program_environment(config_, stage, replica.index);
    std::set<std::string, std::less<>> contract;
    for (const auto& variable : environment) contract.insert(variable.substr(0, variable.find('=')));
    // The daemon's own environment, but never a second value for a name the stage's contract sets.
    for (char** variable = environ; *variable != nullptr; ++variable) {
      const std::string_view inherited(*variable);
      if (!contract.contains(inherited.substr(0, inherited.find('='))) && !is_service_manager_variable(*variable)) {
        environment.emplace_back(inherited);
      }
    }
  }
  std::vector<char*> argv, envp;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  for (auto& variable : environment) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const std::string cannot_execute = "vnawire: cannot execute " + args[0] + "\n";
  std::fflush(nullptr);
  const pid_t parent = ::getpid();
  // Signals stay blocked across fork: until exec, the child must not run the daemon's Asio handlers,
  // which would write into the daemon's own signal pipe.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = ::fork();
  if (pid == 0) {
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal : {SIGTERM, SIGINT, SIGCHLD, SIGHUP}) ::sigaction(signal, &default_action, nullptr);
    // Own process group: a Ctrl-C in a terminal reaches the daemon only, which then drains in order.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);  // the daemon died between fork and prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    close_inherited_descriptors();
    if (program) {
      ::execvpe(argv[0], argv.data(), envp.data());
    } else {
      ::execve(argv[0], argv.data(), envp.data());
    }
    (void)!::write(2, cannot_execute.data(), cannot_execute.size());
    ::_exit(127);
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    log_->error("cannot fork {}: {}", replica.identity, std::strerror(errno));
    replica.state = ReplicaState::Backoff;
    replica.restart_at = Clock::now() + replica.backoff;
    return;
  }
  replica.begin_incarnation(pid, Clock::now());
  log_->debug("started {} (pid {})", replica.identity, pid);
}

void Supervisor::Impl::handle_exit(Replica& replica, int status) {
  replica.ended(Clock::now());
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (reloader_.on_exit(replica, failed_, clean)) return;
  if (failed_ || replica.stop_sent) {
    if (clean) {
      log_->debug("{} stopped", replica.identity);
    } else if (failed_) {
      log_->warn("{} {} while stopping", replica.identity, describe_exit(status));
    } else {
      // It was asked to stop and did not finish cleanly (a last flush that failed exits 1).
      log_->error("{} {} while stopping: what it handled may not be durable; not a clean stop", replica.identity,
                  describe_exit(status));
      exit_code_ = 1;
    }
    return;
  }
  if (starting_ && !replica.ready_seen && !clean) {
    replica.failed_before_ready = status;  // on_tick fails the pipeline, with the reason if it arrives
    return;
  }
  schedule_restart(replica, status);
}

// A crash: start it again after a growing delay. Also while draining, as long as its stage has not been
// sent STOP: documents sent to it, or held for it upstream, can only go on through a running replica.
void Supervisor::Impl::schedule_restart(Replica& replica, int status) {
  replica.crashed(Clock::now() + replica.backoff);
  log_->warn("{} {}; restarting in {} ms", replica.identity, describe_exit(status), replica.backoff.count());
  replica.backoff = std::min(replica.backoff * 2, milliseconds(config_.pipeline.get_int("restart_backoff_max_ms")));
}

// The end of an adopted process, which is not the daemon's child to reap: gone, or a zombie of its parent.
void Supervisor::Impl::watch_adopted() {
  for (auto& replica : replicas_) {
    const runtime::StageConfig* stage = config_.find(replica.stage);
    if (stage == nullptr || !stage->external || replica.pid <= 0) continue;
    bool gone = ::kill(replica.pid, 0) != 0 && errno == ESRCH;
    if (!gone) {
      const std::string stat = [&] {
        std::ifstream in("/proc/" + std::to_string(replica.pid) + "/stat");
        std::string text;
        std::getline(in, text);
        return text;
      }();
      const auto close = stat.rfind(')');
      gone = close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
    }
    // Its exit status is its parent's to know: a final STOPPED report stands for a clean exit.
    if (gone) handle_exit(replica, replica.final_report ? 0 : W_EXITCODE(1, 0));
  }
}

void Supervisor::Impl::reap_children() {
  watch_adopted();
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& replica : replicas_) {
      if (!replica.remote && replica.pid == pid) handle_exit(replica, status);
    }
  }
}

void Supervisor::Impl::kill_all(int signal) {
  for (auto& replica : replicas_) {
    if (replica.remote) {
      // Not ours to signal: ask it to stop and stop waiting for it (its agent ends it if it hangs).
      send(replica, runtime::kStop);
      if (replica.state != ReplicaState::Exited) replica.ended(Clock::now());
      continue;
    }
    if (replica.pid > 0) ::kill(replica.pid, signal);
    if (replica.state == ReplicaState::Backoff) replica.state = ReplicaState::Exited;
  }
}

}  // namespace vnawire::daemon
