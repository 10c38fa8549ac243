// Private to the supervisor's .cc files (supervisor*.cc): the Supervisor::Impl class they define between
// them. It may include Boost.Asio and cppzmq because only those files include it; nothing else may.
#pragma once

#include <utility>  // before Asio: Boost 1.74 Asio uses std::exchange without including it (g++ 12, C++20)

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemon/metrics_server.h"
#include "daemon/notify.h"
#include "daemon/reloader.h"
#include "daemon/replica.h"
#include "daemon/stall_watch.h"
#include "daemon/supervisor.h"
#include "stages/runtime/ack.h"
#include "stages/runtime/curve.h"

namespace vnawire::daemon {

// "exited with code 1", "killed by signal Killed": how a child's wait status reads in the log.
std::string describe_exit(int status);

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
  Clock::time_point start_deadline_{}, stop_started_{}, last_stats_{}, last_progress_{}, last_display_{};
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

}  // namespace vnawire::daemon
