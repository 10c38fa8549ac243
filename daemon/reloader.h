// Applying a SIGHUP reload to the running supervisor: the phases of a ReloadPlan, one tick at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "daemon/notify.h"
#include "daemon/reload.h"
#include "daemon/replica.h"

namespace spdlog {
class logger;
}

namespace vnawire::daemon {

// A stage whose inputs are gone (exited, or rewired away by a reload) and whose intake has not moved for
// this long, with nothing pending, is drained: the supervisor's drain at stop and the reloader's both judge
// by it.
inline constexpr std::chrono::milliseconds kIntakeSettle{1500};

// What the reloader needs of the supervisor (which implements it), so that it stays out of the event loop.
class ReloadHost {
 public:
  virtual ~ReloadHost() = default;
  virtual runtime::PipelineConfig& running_config() = 0;
  virtual std::vector<Replica>& running_replicas() = 0;
  virtual PipelineTotals totals() const = 0;
  // Every replica of `stage` exited and had time to send its last counts.
  virtual bool stage_exited(const std::string& stage) const = 0;
  virtual void send(Replica& replica, const char* verb) = 0;
  // Makes the stage's folders and replicas and starts them; false (logged) when it cannot.
  virtual bool start_stage(const runtime::StageConfig& stage) = 0;
  // The daemon's own drain has sent STOP to `stage`: a replica of it must not be started again.
  virtual bool drained(const std::string& stage) const = 0;
  virtual const std::string& snapshot_path() const = 0;
  virtual std::string status_line() const = 0;
  virtual spdlog::logger& logger() = 0;
  virtual Notifier& notifier() = 0;
};

class Reloader {
 public:
  Reloader(ReloadHost& host, std::string config_path, runtime::StageLookup lookup)
      : host_(host), config_path_(std::move(config_path)), lookup_(std::move(lookup)) {}

  // SIGHUP: a reload starts at the next tick that finds the pipeline started and no reload under way.
  void request() { requested_ = true; }
  void tick(bool starting, bool stopping, bool failed);
  bool in_progress() const { return in_progress_; }
  // A replica exited: true when the reload takes care of it (started again on the new config, or not
  // restarted since its stage is being removed).
  bool on_exit(Replica& replica, bool failed, bool clean);
  // How many documents more (or fewer) than its inputs' counts say a stage should have received, since
  // links were made or removed while the counts ran.
  std::int64_t adjustment(const std::string& stage) const;

 private:
  void reload();
  void start_phase();
  void advance(bool stopping);

  ReloadHost& host_;
  std::string config_path_;
  runtime::StageLookup lookup_;
  bool requested_ = false;
  bool in_progress_ = false;
  bool started_ = false;  // the rewiring phase began (removed sources are gone)
  Clock::time_point deadline_{};
  runtime::PipelineConfig previous_;  // the config before the reload in progress
  ReloadPlan plan_;
  std::set<std::string> respawn_;   // identities stopped to be started again on the new config
  std::set<std::string> removing_;  // stages of the previous config being drained away
  std::map<std::string, std::vector<std::string>> new_links_;  // producer -> consumers it gained
  std::map<std::string, std::int64_t> adjust_;                 // consumer -> correction of what it should receive
  std::map<std::string, std::pair<std::uint64_t, Clock::time_point>> intake_;  // removed sink -> last intake seen
};

}  // namespace vnawire::daemon
