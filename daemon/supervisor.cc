// The supervisor's setup and event loop: run_dir/state_dir and their locks, the control socket, the replicas'
// table, and the Asio loop (signals, the tick). Supervisor::Impl is declared in supervisor_impl.h; the
// control channel, the children and the drain are in supervisor_control.cc, _children.cc and _drain.cc.
#include "daemon/supervisor_impl.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>

#include "stages/runtime/logging.h"
#include "stages/runtime/wiring.h"

namespace vnawire::daemon {

using std::chrono::milliseconds;

namespace {

constexpr milliseconds kTick{20};
constexpr milliseconds kKillGrace{5000};
constexpr milliseconds kFailureReasonGrace{1000};  // how long a FAILED message may trail the exit

}  // namespace

bool Supervisor::Impl::prepare() {
  log_ = runtime::make_logger("daemon", config_.pipeline.get_string("log_level"));
  std::error_code ec;
  std::filesystem::create_directories(config_.run_dir, ec);
  if (ec) {
    log_->error("cannot create run_dir {}: {}", config_.run_dir.string(), ec.message());
    return false;
  }
  std::filesystem::create_directories(config_.state_dir, ec);
  if (ec) {
    log_->error("cannot create state_dir {}: {}", config_.state_dir.string(), ec.message());
    return false;
  }
  // A second daemon on the same folders would take over the sockets of the first (an ipc bind replaces
  // the socket file) and write into the same state: it must stop here, before it touches anything.
  if (!lock(config_.run_dir / "lock") || !lock(config_.state_dir / "lock")) return false;
  // Children read a snapshot, so a config edited while the daemon runs cannot split the pipeline in two.
  snapshot_ = (config_.run_dir / "pipeline.yaml").string();
  std::filesystem::copy_file(options_.config_path, snapshot_, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) {
    log_->error("cannot write the config snapshot {}: {}", snapshot_, ec.message());
    return false;
  }
  try {
    control_.emplace(zmq_context_, zmq::socket_type::router);
    if (runtime::curve_enabled(config_)) {
      auto keys = runtime::load_curve_keys(config_);
      if (!keys) {
        log_->error("CURVE: {}", keys.error());
        return false;
      }
      zap_ = std::make_unique<runtime::ZapHandler>(zmq_context_, keys->authorized, log_);
      runtime::make_curve_server(*control_, *keys);
    }
    control_->set(zmq::sockopt::linger, 0);
    control_->set(zmq::sockopt::rcvhwm, 100000);
    control_->set(zmq::sockopt::router_handover, true);  // a restarted replica takes its identity back
    control_->bind(runtime::control_bind_endpoint(config_));
  } catch (const zmq::error_t& e) {
    log_->error("cannot bind the control channel {}: {}", runtime::control_endpoint(config_), e.what());
    return false;
  }
  auto metrics = start_metrics_server(io_, config_, [this] { return totals(); });
  if (!metrics.error.empty()) {
    log_->error("{}", metrics.error);
    return false;
  }
  metrics_ = std::move(metrics.server);
  if (metrics_) log_->info("metrics on http://{}/metrics (also /healthz, /readyz, /status)", metrics_->address());
  for (const auto& stage : config_.stages) {
    if (!make_program_folders(stage)) return false;
    add_replicas(stage);
  }
  return true;
}

bool Supervisor::Impl::make_program_folders(const runtime::StageConfig& stage) {
  // A vnawire stage process makes its own folders; a program of the user's finds them made.
  if (!stage.descriptor->program || stage.descriptor->program(stage.options).empty()) return true;
  std::error_code ec;
  for (const auto& folder :
       {config_.state_dir / stage.name, runtime::dead_letter_path(config_, stage.name, 0).parent_path()}) {
    std::filesystem::create_directories(folder, ec);
    if (ec) {
      log_->error("cannot create {}: {}", folder.string(), ec.message());
      return false;
    }
  }
  return true;
}

void Supervisor::Impl::add_replicas(const runtime::StageConfig& stage) {
  for (int r = 0; r < stage.replicas; ++r) {
    Replica replica;
    replica.stage = stage.name;
    replica.index = r;
    replica.identity = runtime::replica_identity(stage.name, r);
    replica.remote = !stage.host.empty();
    replica.backoff = milliseconds(config_.pipeline.get_int("restart_backoff_ms"));
    replicas_.push_back(std::move(replica));
  }
}

bool Supervisor::Impl::start_stage(const runtime::StageConfig& stage) {
  if (!make_program_folders(stage)) return false;
  const std::size_t first = replicas_.size();
  add_replicas(stage);
  for (std::size_t i = first; i < replicas_.size(); ++i) spawn(replicas_[i]);
  return true;
}

// Holds an exclusive flock on `path` for the daemon's life (the kernel drops it when the process ends),
// with the daemon's pid inside so that a refused daemon can name the one in the way.
bool Supervisor::Impl::lock(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    log_->error("cannot open the lock file {}: {}", path.string(), std::strerror(errno));
    return false;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char text[32] = {};
    const ssize_t got = ::pread(fd, text, sizeof text - 1, 0);
    std::string holder(text, got > 0 ? static_cast<std::size_t>(got) : 0);
    holder.erase(holder.find_last_not_of(" \n") + 1);
    ::close(fd);
    if (error == EWOULDBLOCK) {
      log_->error(
          "another vnawire daemon holds {}{}: stop it first, or give this pipeline its own state_dir "
          "and run_dir",
          path.string(), holder.empty() ? "" : " (pid " + holder + ")");
    } else {
      log_->error("cannot lock {}: {}", path.string(), std::strerror(error));
    }
    return false;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    log_->warn("cannot write the pid into {}: {}", path.string(), std::strerror(errno));
  }
  lock_fds_.push_back(fd);
  return true;
}

void Supervisor::Impl::on_tick() {
  read_control();
  reap_children();
  const auto now = Clock::now();
  const auto timeout = milliseconds(config_.pipeline.get_int("stage_timeout_ms"));

  for (auto& replica : replicas_) {
    if (!replica.failed_before_ready || failed_) continue;
    if (replica.ready_seen) {
      // Its READY was read only after the exit: it crashed once ready, it did not fail to start.
      const int status = *replica.failed_before_ready;
      replica.failed_before_ready.reset();
      schedule_restart(replica, status);
    } else if (!replica.failure.empty()) {
      fail("stage " + replica.identity + " cannot start: " + replica.failure);
    } else if (now - replica.exited_at > kFailureReasonGrace) {
      fail("stage " + replica.identity + " " + describe_exit(*replica.failed_before_ready) + " before it was ready");
    }
  }

  if (starting_ && !failed_) {
    bool all_ready = true;
    for (const auto& replica : replicas_) all_ready = all_ready && replica.state == ReplicaState::Ready;
    if (all_ready) {
      starting_ = false;
      log_->info("pipeline running: {} processes", replicas_.size());
      notifier_.ready(status_line(totals()));
    } else if (now > start_deadline_) {
      std::string missing;
      for (const auto& replica : replicas_) {
        if (replica.state != ReplicaState::Ready) missing += " " + replica.identity;
      }
      fail("stages not ready after stage_timeout_ms:" + missing);
    }
  }

  for (auto& replica : replicas_) {
    if (replica.state == ReplicaState::Backoff && !failed_ && !replica.stop_sent && now >= replica.restart_at) {
      spawn(replica);
    }
    // A replica that went silent is hung: kill it, and the exit handler restarts it.
    const bool silent = (replica.state == ReplicaState::Ready || replica.state == ReplicaState::Starting) &&
                        now - replica.last_seen > timeout && replica.pid > 0;
    if (silent && !failed_ && replica.remote) {
      log_->error("{} (on another host) sent nothing for {} ms: its host agent restarts it if it died",
                  replica.identity, timeout.count());
      replica.last_seen = now;
    } else if (silent && !failed_) {
      log_->error("{} sent nothing for {} ms: killing it", replica.identity, timeout.count());
      ::kill(replica.pid, SIGKILL);
      replica.last_seen = now;
    }
    if (replica.state == ReplicaState::Ready && now - replica.started > std::chrono::minutes(1)) {
      replica.backoff = milliseconds(config_.pipeline.get_int("restart_backoff_ms"));  // stable again
    }
  }

  reloader_.tick(starting_, stopping_, failed_);
  ping_watchdog(now);

  if (now >= next_ack_expiry_) {
    // A root incomplete this long lost a copy with a killed process; its source has sent it again.
    const auto keep = std::max(milliseconds(10 * config_.pipeline.get_int("ack_timeout_ms")), milliseconds(60000));
    if (const std::size_t expired = acker_.expire(now - keep); expired > 0) {
      log_->debug("forgot {} incomplete acknowledgement(s) older than {} ms", expired, keep.count());
    }
    next_ack_expiry_ = now + std::chrono::seconds(1);
  }

  const bool watching = stopping_ || static_cast<bool>(options_.stop_when);
  if (watching) request_stats(false);
  if (!stopping_ && !starting_ && options_.stop_when && options_.stop_when(totals())) begin_stop("work done");

  if (stopping_) {
    if (!failed_) advance_drain();
    const auto drain_limit = milliseconds(config_.pipeline.get_int("drain_timeout_ms"));
    if (!failed_ && now - stop_started_ > drain_limit) {
      log_->error("drain timed out after {} ms; documents still in flight are replayed at the next start",
                  drain_limit.count());
      exit_code_ = 1;
      failed_ = true;
      kill_all(SIGTERM);
      stop_started_ = now;
    } else if (failed_ && now - stop_started_ > kKillGrace) {
      kill_all(SIGKILL);
    }
    if (all_exited()) {
      log_progress(true);
      if (!failed_) check_balance();
      if (metrics_) metrics_->stop();
      io_.stop();
      return;
    }
  } else {
    log_progress(false);
  }
  if (options_.on_display && now - last_display_ >= milliseconds(options_.display_interval_ms)) {
    last_display_ = now;
    options_.on_display(totals());
  }
  schedule_tick();
}

void Supervisor::Impl::schedule_tick() {
  timer_.expires_after(kTick);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
}

int Supervisor::Impl::run() {
  if (!prepare()) return 1;
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGCHLD);
  signals_.add(SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int signal) {
    if (ec) return;
    if (signal == SIGCHLD) {
      reap_children();
    } else if (signal == SIGHUP) {
      // Applied from the tick, once the pipeline is up and no other reload is under way.
      if (stopping_) {
        log_->warn("SIGHUP while stopping: the configuration is not reloaded");
      } else {
        log_->info("SIGHUP: reloading {}", options_.config_path);
        reloader_.request();
      }
    } else if (stopping_ && !failed_) {
      // A second Ctrl-C or SIGTERM: the user wants out now, at the price of documents still in flight.
      log_->warn("signal {} again: stopping now without draining; documents in flight may not reach the sinks", signal);
      fail("forced stop");
    } else if (!stopping_) {
      begin_stop(signal == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    signals_.async_wait(on_signal);
  };
  signals_.async_wait(on_signal);
  log_->info(
      "starting {} stage(s), {} process(es); state in {}", config_.stages.size(),
      [&] {
        std::size_t n = 0;
        for (const auto& stage : config_.stages) n += static_cast<std::size_t>(stage.replicas);
        return n;
      }(),
      config_.state_dir.string());
  start_deadline_ = Clock::now() + milliseconds(config_.pipeline.get_int("stage_timeout_ms"));
  if (notifier_.watchdog_period().count() > 0) {
    stall_watch_.emplace(std::chrono::duration_cast<milliseconds>(notifier_.watchdog_period()));
    log_->info("systemd watchdog: pinging every {} ms while the pipeline progresses",
               std::chrono::duration_cast<milliseconds>(notifier_.watchdog_period()).count() / 2);
  }
  last_progress_ = Clock::now();
  for (auto& replica : replicas_) spawn(replica);
  schedule_tick();
  io_.run();
  // Whatever is still running (only after a failure) must not outlive the daemon.
  kill_all(SIGKILL);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  if (exit_code_ == 0) log_->info("stopped cleanly");
  return exit_code_;
}

Supervisor::Supervisor(const runtime::PipelineConfig& config, SupervisorOptions options)
    : impl_(std::make_unique<Impl>(config, std::move(options))) {}
Supervisor::~Supervisor() = default;
int Supervisor::run() { return impl_->run(); }
PipelineTotals Supervisor::totals() const { return impl_->totals(); }

}  // namespace vnawire::daemon
