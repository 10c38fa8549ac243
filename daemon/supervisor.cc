// The supervisor's event loop: Boost.Asio for signals and timers, a ZeroMQ ROUTER for the control channel.
#include <utility>  // before Asio: Boost 1.74 Asio uses std::exchange without including it (g++ 12, C++20)

#include "daemon/supervisor.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "daemon/metrics_server.h"
#include "daemon/notify.h"
#include "daemon/reloader.h"
#include "daemon/replica.h"
#include "daemon/stall_watch.h"
#include "stages/runtime/ack.h"
#include "stages/runtime/curve.h"
#include "stages/runtime/logging.h"
#include "stages/runtime/stage_runner.h"
#include "stages/runtime/wiring.h"

namespace vnawire::daemon {

using std::chrono::milliseconds;

namespace {

constexpr milliseconds kTick{20};
constexpr milliseconds kStatsInterval{100};
constexpr milliseconds kFinalStatsGrace{1000};  // after exit, how long a STOPPED message may still arrive
constexpr milliseconds kKillGrace{5000};
constexpr milliseconds kFailureReasonGrace{1000};  // how long a FAILED message may trail the exit
constexpr milliseconds kSettle{1500};              // intake unchanged this long after its inputs exited: drained

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "ended";
}

}  // namespace

class Supervisor::Impl : public ReloadHost {
 public:
  Impl(const runtime::PipelineConfig& config, SupervisorOptions options)
      : config_(config),
        options_(std::move(options)),
        signals_(io_),
        timer_(io_),
        reloader_(*this, options_.config_path, options_.lookup) {}
  ~Impl() {
    for (int fd : lock_fds_) ::close(fd);
  }

  int run();
  PipelineTotals totals() const override;

 private:
  bool prepare();
  bool lock(const std::filesystem::path& path);
  void spawn(Replica& replica);
  void on_tick();
  void read_control();
  std::string handle_control(const std::vector<zmq::message_t>& frames);
  void reap_children();
  bool adopt(Replica& replica, const std::string& verb, pid_t sender);
  void watch_adopted();
  void handle_exit(Replica& replica, int status);
  void schedule_restart(Replica& replica, int status);
  void check_balance();
  void request_stats(bool force);
  void send(Replica& replica, const char* verb) override;
  void begin_stop(const std::string& why);
  void advance_drain();
  bool stage_exited(const std::string& stage) const override;
  void fail(const std::string& why);
  void kill_all(int signal);
  bool all_exited() const;
  void schedule_tick();
  void log_progress(bool force);
  // Applies an ACK's reports and tells each source which of its documents are finished.
  std::string handle_acks(const nlohmann::json& body);
  void add_replicas(const runtime::StageConfig& stage);
  bool make_program_folders(const runtime::StageConfig& stage);
  // What a stage's inputs have sent it so far, corrected for the links a reload made or removed.
  std::uint64_t expected_by(const PipelineTotals& totals, const runtime::StageConfig& stage) const;
  std::string status_line(const PipelineTotals& totals) const;
  void ping_watchdog(Clock::time_point now);
  // What the reloader (SIGHUP) works with.
  runtime::PipelineConfig& running_config() override { return config_; }
  std::vector<Replica>& running_replicas() override { return replicas_; }
  bool start_stage(const runtime::StageConfig& stage) override;
  bool drained(const std::string& stage) const override { return stop_sent_stages_.count(stage) > 0; }
  const std::string& snapshot_path() const override { return snapshot_; }
  std::string status_line() const override { return status_line(totals()); }
  spdlog::logger& logger() override { return *log_; }
  Notifier& notifier() override { return notifier_; }

  runtime::PipelineConfig config_;  // replaced by a reload
  SupervisorOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer timer_;
  zmq::context_t zmq_context_{1};
  std::unique_ptr<runtime::ZapHandler> zap_;  // CURVE only: admits the authorized stage hosts
  std::optional<zmq::socket_t> control_;
  std::vector<Replica> replicas_;
  std::string snapshot_;

  bool starting_ = true;  // until every replica has been READY once
  bool stopping_ = false;
  bool failed_ = false;
  int exit_code_ = 0;
  Clock::time_point start_deadline_{}, stop_started_{}, last_stats_{}, last_progress_{};
  std::set<std::string> stop_sent_stages_;
  std::vector<int> lock_fds_;
  std::uint64_t bad_control_messages_ = 0;
  std::map<std::string, std::pair<std::uint64_t, Clock::time_point>> last_received_;  // drain progress
  runtime::Acker acker_;
  Clock::time_point next_ack_expiry_{};
  std::unique_ptr<MetricsServer> metrics_;  // after io_: closed before the loop it runs on

  Notifier notifier_;
  std::optional<StallWatch> stall_watch_;  // only when systemd expects watchdog pings
  Clock::time_point next_watchdog_{};
  std::string stalled_;  // why the last pings were withheld, logged once
  Reloader reloader_;
};

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

void Supervisor::Impl::send(Replica& replica, const char* verb) {
  if (!control_ || replica.state == ReplicaState::Exited || replica.state == ReplicaState::Backoff) return;
  std::array<zmq::const_buffer, 3> frames = {zmq::buffer(replica.identity), zmq::buffer(std::string_view(verb)),
                                             zmq::str_buffer("{}")};
  try {
    (void)zmq::send_multipart(*control_, frames, zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // Not connected yet (ROUTER drops unroutable messages): the next tick sends again where it matters.
  }
}

void Supervisor::Impl::read_control() {
  while (true) {
    std::vector<zmq::message_t> frames;
    std::optional<std::size_t> got;
    try {
      got = zmq::recv_multipart(*control_, std::back_inserter(frames), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      log_->error("control channel: {}", e.what());
      return;
    }
    if (!got) return;
    // Anything may connect to the control socket: one bad message (a field of the wrong type makes the
    // JSON library throw) must cost a log line, not the daemon and every document in flight.
    std::string problem;
    try {
      problem = handle_control(frames);
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (problem.empty()) continue;
    ++bad_control_messages_;
    log_->warn("bad control message {} from {} ({}): {}", bad_control_messages_,
               frames.empty() ? std::string("?") : frames[0].to_string(),
               frames.size() > 1 ? frames[1].to_string() : std::string("no verb"), problem);
  }
}

// Applies one control message; returns why it is malformed, or "" (may throw on a field of the wrong type).
std::string Supervisor::Impl::handle_control(const std::vector<zmq::message_t>& frames) {
  if (frames.size() != 3) return "expected 3 frames, got " + std::to_string(frames.size());
  const std::string identity = frames[0].to_string();
  const std::string verb = frames[1].to_string();
  auto body = nlohmann::json::parse(frames[2].to_string_view(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) return "the body is not a JSON object";
  Replica* replica = nullptr;
  for (auto& candidate : replicas_) {
    if (candidate.identity == identity) replica = &candidate;
  }
  if (replica == nullptr) return "no stage replica of this pipeline is called '" + identity + "'";
  // Reports stand whichever incarnation sent them: what it finished is finished.
  if (verb == runtime::kAck) return handle_acks(body);
  // A message from an earlier incarnation (its pid) must not count for the current one; the previous one's
  // late counts still count for it.
  const int sender = body.value("pid", -1);
  if (replica->remote && sender != replica->incarnation && sender > 0 && sender != replica->previous_incarnation) {
    if (verb == runtime::kFailed) {
      const std::string reason = body.value("reason", std::string("unknown reason"));
      if (starting_) fail("stage " + identity + " cannot start on its host: " + reason);
      log_->error("stage {} cannot start on its host: {}", identity, reason);
      return "";
    }
    // A new process on the other host (its agent restarted it): counted from here, as a local restart is. A
    // heartbeat first is a stage that outlived a previous daemon (its READY went to that one): taken as ready.
    const bool running_before_us = verb == runtime::kHeartbeat && replica->incarnation <= 0;
    if ((verb == runtime::kReady || running_before_us) && !replica->stop_sent) {
      if (replica->incarnation > 0) log_->warn("{} was restarted on its host (pid {})", identity, sender);
      replica->begin_incarnation(sender, Clock::now());
      if (running_before_us) {
        replica->state = ReplicaState::Ready;
        replica->ready_seen = true;
      }
    }
  }
  if (sender != replica->incarnation && sender > 0 && adopt(*replica, verb, sender)) return "";
  if (sender != replica->incarnation) {
    if (sender == replica->previous_incarnation && sender > 0 &&
        (verb == runtime::kHeartbeat || verb == runtime::kStopped || verb == runtime::kReady)) {
      replica->late_report(Counts::from_json(body));
    }
    return "";
  }
  if (verb == runtime::kFailed) {
    replica->last_seen = Clock::now();
    replica->failure = body.value("reason", std::string("unknown reason"));
    if (!starting_) log_->error("stage {} cannot start: {}", identity, replica->failure);
    return "";
  }
  if (verb != runtime::kReady && verb != runtime::kHeartbeat && verb != runtime::kStopped) {
    return "unknown verb";
  }
  replica->report(verb, Counts::from_json(body), stopping_);
  replica->last_seen = Clock::now();
  // A remote replica's exit is seen here, by its last report, since it is no child of ours.
  if (replica->remote && verb == runtime::kStopped) {
    replica->ended(Clock::now());
    if (!replica->stop_sent && !failed_) log_->warn("{} stopped on its host without being told to", identity);
  }
  if (verb == runtime::kReady) log_->debug("{} ready", identity);
  return "";
}

std::string Supervisor::Impl::handle_acks(const nlohmann::json& body) {
  std::map<std::string, nlohmann::json> finished;  // origin -> roots
  const int applied = acker_.apply_message(body, Clock::now(), [&](const std::string& origin, std::uint64_t root) {
    finished[origin].push_back(runtime::token_hex(root));
  });
  for (auto& [origin, roots] : finished) {
    const std::string text = nlohmann::json{{"roots", std::move(roots)}}.dump();
    std::array<zmq::const_buffer, 3> frames = {zmq::buffer(origin), zmq::buffer(std::string_view(runtime::kDone)),
                                               zmq::buffer(text)};
    try {
      // Unroutable (the source is restarting) is dropped: the source sends those documents again.
      (void)zmq::send_multipart(*control_, frames, zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
  }
  return applied < 0 ? "malformed acknowledgement report" : "";
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

// A replica of a stage that systemd supervises: the READY of a new process of it starts its next incarnation.
// A process that only sends heartbeats served an earlier daemon, and its counts mean nothing to this one: it
// is told to stop, and systemd (Restart=always) starts a fresh one.
bool Supervisor::Impl::adopt(Replica& replica, const std::string& verb, pid_t sender) {
  const runtime::StageConfig* stage = config_.find(replica.stage);
  if (stage == nullptr || !stage->external || replica.pid > 0 || replica.stop_sent) return false;
  // In Backoff too: systemd may start the next process before the daemon's own restart delay has run out.
  if (verb == runtime::kReady && (replica.state == ReplicaState::Starting || replica.state == ReplicaState::Backoff)) {
    replica.begin_incarnation(sender, Clock::now());
    log_->info("{} is pid {}, started by systemd", replica.identity, sender);
    return false;  // the READY itself is then handled as the new incarnation's
  }
  if (verb == runtime::kHeartbeat) send(replica, runtime::kStop);
  return true;
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

void Supervisor::Impl::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  exit_code_ = 1;
  log_->error("{}", why);
  log_->error("stopping the pipeline");
  notifier_.stopping("stopping after a failure: " + why);
  stopping_ = true;
  stop_started_ = Clock::now();
  kill_all(SIGTERM);
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

// Every replica has exited and, unless the stop was forced, sent its final counts (or had time to).
bool Supervisor::Impl::all_exited() const {
  const auto now = Clock::now();
  for (const auto& replica : replicas_) {
    if (replica.state != ReplicaState::Exited) return false;
    if (!failed_ && !replica.final_report && now - replica.exited_at < kFinalStatsGrace) return false;
  }
  return true;
}

bool Supervisor::Impl::stage_exited(const std::string& stage) const {
  const auto now = Clock::now();
  for (const auto& replica : replicas_) {
    if (replica.stage != stage) continue;
    if (replica.state != ReplicaState::Exited) return false;
    if (!replica.final_report && now - replica.exited_at < kFinalStatsGrace) return false;
  }
  return true;
}

void Supervisor::Impl::begin_stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  stop_started_ = Clock::now();
  log_->info("stopping ({}): sources first, then each stage once its input is drained", why);
  notifier_.stopping("draining (" + why + ")");
}

// Sends STOP to every stage whose inputs have all exited and whose replicas have taken in everything
// those inputs forwarded: nothing can be in flight towards it any more.
void Supervisor::Impl::advance_drain() {
  const PipelineTotals now_totals = totals();
  for (const auto& stage : config_.stages) {
    if (stop_sent_stages_.count(stage.name)) continue;
    bool inputs_done = true;
    for (const auto& input : stage.inputs) inputs_done = inputs_done && stage_exited(input);
    const std::uint64_t expected = expected_by(now_totals, stage);
    if (!inputs_done) continue;
    const StageTotals& mine = now_totals.stages.at(stage.name);
    auto& seen = last_received_[stage.name];
    if (seen.first != mine.received || seen.second == Clock::time_point{}) seen = {mine.received, Clock::now()};
    const bool exact = mine.received >= expected && mine.pending == 0;
    // A replica killed mid-run takes the count of what it received since its last report with it, so
    // the exact balance may never come. Once every input process has exited nothing more can arrive:
    // a stage whose intake has not moved for kSettle, with nothing pending, is drained too.
    const bool settled = mine.pending == 0 && Clock::now() - seen.second > kSettle;
    const bool drained = stage.inputs.empty() || exact || settled;
    if (!drained) continue;
    if (!exact && !stage.inputs.empty()) {
      log_->warn(
          "{}: {} document(s) sent to it are unaccounted for (a replica crashed); they are sent again "
          "at the next start if their source had not recorded them",
          stage.name, expected - std::min(expected, mine.received));
    }
    stop_sent_stages_.insert(stage.name);
    for (auto& replica : replicas_) {
      if (replica.stage != stage.name) continue;
      replica.stop_sent = true;
      if (replica.state == ReplicaState::Backoff) replica.state = ReplicaState::Exited;  // nothing runs to stop
      if (replica.state == ReplicaState::Ready || replica.state == ReplicaState::Starting) {
        replica.state = ReplicaState::Stopping;
      }
      send(replica, runtime::kStop);
    }
  }
  // A STOP may be lost to a replica that was not connected yet: repeat it until the replica exits.
  for (auto& replica : replicas_) {
    if (replica.stop_sent && replica.state == ReplicaState::Stopping) send(replica, runtime::kStop);
  }
}

void Supervisor::Impl::request_stats(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_stats_ < kStatsInterval) return;
  last_stats_ = now;
  for (auto& replica : replicas_) {
    if (replica.state == ReplicaState::Ready || replica.state == ReplicaState::Stopping) send(replica, runtime::kStats);
  }
}

PipelineTotals Supervisor::Impl::totals() const {
  PipelineTotals out;
  for (const auto& stage : config_.stages) out.stages[stage.name];
  for (const auto& replica : replicas_) replica.add_to(out.stages[replica.stage]);
  out.bad_control_messages = bad_control_messages_;
  out.ready = !starting_;
  out.stopping = stopping_;
  bool quiescent = true;
  for (const auto& stage : config_.stages) {
    const StageTotals& mine = out.stages[stage.name];
    const std::uint64_t expected = expected_by(out, stage);
    quiescent = quiescent && mine.pending == 0 && (stage.inputs.empty() || mine.received == expected);
  }
  out.quiescent = quiescent;
  return out;
}

void Supervisor::Impl::log_progress(bool force) {
  const auto now = Clock::now();
  if (!force && now - last_progress_ < milliseconds(options_.progress_interval_ms)) return;
  last_progress_ = now;
  const PipelineTotals t = totals();
  std::string line;
  for (const auto& stage : config_.stages) {
    const StageTotals& s = t.stages.at(stage.name);
    line += fmt::format("{}{} in {} out {}", line.empty() ? "" : " | ", stage.name, s.received, s.forwarded);
    if (s.dropped) line += fmt::format(" dropped {}", s.dropped);
    for (const auto& [target, n] : s.routed) line += fmt::format(" routed to {} {}", target, n);
    if (s.dead_lettered) line += fmt::format(" dead {}", s.dead_lettered);
    if (s.restarts) line += fmt::format(" restarts {}", s.restarts);
  }
  if (t.bad_control_messages) line += fmt::format(" | bad control messages {}", t.bad_control_messages);
  if (zap_ && zap_->refused() > 0) line += fmt::format(" | CURVE clients refused {}", zap_->refused());
  log_->info("{}", line);
  if (!starting_ && !stopping_ && !reloader_.in_progress()) notifier_.status(status_line(t));
  if (options_.on_progress) options_.on_progress(t);
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
  schedule_tick();
}

// After the drain, with every replica's final counts: a stop is clean only if each stage received exactly
// what its inputs forwarded. Anything else is a document lost (or counted twice) on the way.
//
// With acknowledgements, the sources' outboxes say it: a copy lost with a killed process was sent again,
// and the stop is clean if every source saw all it sent acknowledged, whatever the counts.
void Supervisor::Impl::check_balance() {
  const PipelineTotals t = totals();
  const bool acks = config_.pipeline.get_bool("acknowledgements");
  std::uint64_t unacknowledged = 0;
  for (const auto& stage : config_.stages) {
    if (stage.inputs.empty()) unacknowledged += t.stages.at(stage.name).in_flight;
  }
  for (const auto& stage : config_.stages) {
    if (stage.inputs.empty()) continue;
    const std::uint64_t expected = expected_by(t, stage);
    const std::uint64_t received = t.stages.at(stage.name).received;
    if (received == expected) continue;
    if (acks && unacknowledged == 0) {
      log_->info(
          "{} received {} document(s) where its inputs forwarded {} (copies lost with killed processes, "
          "sent again and acknowledged)",
          stage.name, received, expected);
      continue;
    }
    log_->error("{} received {} document(s) where its inputs forwarded {}: not a clean stop", stage.name, received,
                expected);
    exit_code_ = 1;
  }
  if (acks && unacknowledged > 0) {
    log_->error(
        "{} document(s) sent by the sources are not acknowledged: their outboxes send them again at the "
        "next start",
        unacknowledged);
    exit_code_ = 1;
  }
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

std::uint64_t Supervisor::Impl::expected_by(const PipelineTotals& t, const runtime::StageConfig& stage) const {
  std::int64_t expected = 0;
  for (const auto& input : stage.inputs) {
    if (auto it = t.stages.find(input); it != t.stages.end()) {
      expected += static_cast<std::int64_t>(it->second.sent_to(stage.name));
    }
  }
  expected += reloader_.adjustment(stage.name);
  return static_cast<std::uint64_t>(std::max<std::int64_t>(expected, 0));
}

// One line for `systemctl status`: what runs, what came in and went out, what went wrong.
std::string Supervisor::Impl::status_line(const PipelineTotals& t) const {
  std::uint64_t in = 0, stored = 0, dead = 0, restarts = 0;
  for (const auto& stage : config_.stages) {
    const StageTotals& s = t.stages.at(stage.name);
    if (stage.inputs.empty()) in += s.forwarded;
    if (config_.consumers_of(stage.name).empty()) stored += s.forwarded;
    dead += s.dead_lettered;
    restarts += s.restarts;
  }
  std::size_t processes = 0;
  for (const auto& replica : replicas_) processes += replica.pid > 0 ? 1 : 0;
  return fmt::format("{} stages, {} processes; {} documents in, {} stored; {} dead-lettered; {} restarts",
                     config_.stages.size(), processes, in, stored, dead, restarts);
}

// Pings at half the watchdog period, and only while StallWatch finds the pipeline progressing: a stuck
// pipeline lets systemd's watchdog fire, which restarts the daemon (Restart=on-failure).
void Supervisor::Impl::ping_watchdog(Clock::time_point now) {
  // systemd arms the watchdog once READY=1 is sent; the start has its own deadline (stage_timeout_ms).
  if (!stall_watch_ || starting_ || now < next_watchdog_) return;
  const PipelineTotals t = totals();
  std::map<std::string, std::uint64_t> expected;
  for (const auto& stage : config_.stages) expected[stage.name] = expected_by(t, stage);
  bool outstanding = !config_.pipeline.get_bool("acknowledgements");
  for (const auto& stage : config_.stages) {
    outstanding = outstanding || (stage.inputs.empty() && t.stages.at(stage.name).in_flight > 0);
  }
  const std::string stuck = stall_watch_->check(t, expected, outstanding, replicas_, now);
  if (!stuck.empty()) {
    if (stalled_.empty()) {
      log_->error("pipeline stuck: {}; withholding the systemd watchdog ping", stuck);
      notifier_.status("stuck: " + stuck);
    }
    stalled_ = stuck;
    return;
  }
  if (!stalled_.empty()) log_->info("pipeline progressing again: watchdog pings resume");
  stalled_.clear();
  notifier_.watchdog();
  next_watchdog_ = now + std::chrono::duration_cast<milliseconds>(notifier_.watchdog_period()) / 2;
}

Supervisor::Supervisor(const runtime::PipelineConfig& config, SupervisorOptions options)
    : impl_(std::make_unique<Impl>(config, std::move(options))) {}
Supervisor::~Supervisor() = default;
int Supervisor::run() { return impl_->run(); }
PipelineTotals Supervisor::totals() const { return impl_->totals(); }

}  // namespace vnawire::daemon
