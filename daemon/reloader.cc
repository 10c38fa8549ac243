// A reload in phases: removed sources stop first; then the stages whose sockets change are restarted and the
// added stages start; removed sinks stop once nothing more comes to them; READY=1 when all is running again.
#include "daemon/reloader.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <spdlog/spdlog.h>

namespace vnawire::daemon {

using std::chrono::milliseconds;

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

// Re-reads the file the daemon started with. An invalid file, or a change that needs a restart, is refused
// as a whole and the running pipeline keeps going untouched; the snapshot the children read is replaced
// only once the new config is known to apply.
void Reloader::reload() {
  spdlog::logger& log = host_.logger();
  host_.notifier().reloading("reloading " + config_path_);
  const auto refuse = [&](const std::string& why) {
    log.error("reload refused: {}; the running pipeline is unchanged", why);
    host_.notifier().ready("reload refused (" + why + "); " + host_.status_line());
  };
  if (!lookup_) return refuse("this command cannot reload its configuration");
  // The text validated is the text the stages get: the file may be edited again meanwhile.
  std::ifstream file(config_path_, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file) return refuse("cannot read " + config_path_);
  const runtime::LoadedConfig loaded = runtime::parse_pipeline_config(
      text, config_path_, std::filesystem::absolute(config_path_).parent_path(), lookup_);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) log.error("reload: {}", error.to_string());
    return refuse(fmt::format("{} error(s) in {}", loaded.errors.size(), config_path_));
  }
  ReloadPlan plan = plan_reload(host_.running_config(), loaded.config);
  if (!plan.ok()) {
    for (const auto& why : plan.refused) log.error("reload: {}", why);
    return refuse(plan.refused.front());
  }
  if (plan.changes_nothing()) {
    log.info("reload: nothing to change");
    host_.notifier().ready(host_.status_line());
    return;
  }
  std::error_code ec;
  const std::string fresh = host_.snapshot_path() + ".new";
  {
    std::ofstream out(fresh, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) ec = std::make_error_code(std::errc::io_error);
  }
  if (!ec) std::filesystem::rename(fresh, host_.snapshot_path(), ec);
  if (ec) return refuse("cannot write the config snapshot " + host_.snapshot_path() + ": " + ec.message());

  log.info("reload: adding {}; removing {}; restarting on new sockets {}", joined(plan.added), joined(plan.removed),
           joined(plan.rewired));
  previous_ = std::move(host_.running_config());
  host_.running_config() = loaded.config;
  plan_ = std::move(plan);
  in_progress_ = true;
  started_ = false;
  deadline_ = Clock::now() + milliseconds(host_.running_config().pipeline.get_int("stage_timeout_ms"));
  bool sources_removed = false;
  for (const auto& name : plan_.removed) {
    removing_.insert(name);
    if (!previous_.find(name)->inputs.empty()) continue;
    // A removed source stops first: it finishes what it sent (acknowledged) while its consumers still read it.
    sources_removed = true;
    for (auto& replica : host_.running_replicas()) {
      if (replica.stage != name) continue;
      replica.stop_sent = true;
      if (replica.state == ReplicaState::Backoff) replica.state = ReplicaState::Exited;
      if (replica.state == ReplicaState::Ready || replica.state == ReplicaState::Starting) {
        replica.state = ReplicaState::Stopping;
      }
      host_.send(replica, runtime::kStop);
    }
  }
  if (!sources_removed) start_phase();
}

// Once removed sources are gone: the stages whose sockets change are stopped to start again on the new
// config, and the added stages start.
void Reloader::start_phase() {
  started_ = true;
  for (const auto& name : plan_.rewired) {
    const auto before = previous_.consumers_of(name);
    for (const auto& consumer : host_.running_config().consumers_of(name)) {
      if (std::find(before.begin(), before.end(), consumer) == before.end()) new_links_[name].push_back(consumer);
    }
    for (auto& replica : host_.running_replicas()) {
      if (replica.stage != name) continue;
      if (replica.pid <= 0) {
        // Waiting for its restart, which reads the new snapshot: only the correction is due.
        StageTotals before_totals;
        replica.add_to(before_totals);
        for (const auto& consumer : new_links_[name]) {
          adjust_[consumer] -= static_cast<std::int64_t>(before_totals.sent_to(consumer));
        }
        continue;
      }
      respawn_.insert(replica.identity);
      replica.stop_sent = true;
      replica.state = ReplicaState::Stopping;
      host_.send(replica, runtime::kStop);
    }
  }
  for (const auto& name : plan_.added) {
    const runtime::StageConfig& stage = *host_.running_config().find(name);
    if (!host_.start_stage(stage))
      host_.logger().error("reload: {} cannot start; the rest of the reload goes on", name);
  }
}

// A replica stopped for rewiring is started again at once (on the new snapshot), unless the daemon's own
// stop has reached its stage in the meantime. What it sent before counts for no consumer it gained.
bool Reloader::on_exit(Replica& replica, bool failed, bool clean) {
  spdlog::logger& log = host_.logger();
  if (!failed && !replica.stop_sent && removing_.count(replica.stage)) {
    log.warn("{} exited while being removed by a reload: not restarted", replica.identity);
    replica.stop_sent = true;
    return true;
  }
  if (!replica.stop_sent || respawn_.erase(replica.identity) == 0 || failed || host_.drained(replica.stage)) {
    return false;
  }
  if (!clean) log.warn("{} did not exit cleanly while stopping to be rewired", replica.identity);
  StageTotals before;
  replica.add_to(before);
  for (const auto& consumer : new_links_[replica.stage]) {
    adjust_[consumer] -= static_cast<std::int64_t>(before.sent_to(consumer));
  }
  replica.stop_sent = false;
  replica.state = ReplicaState::Backoff;
  replica.restart_at = Clock::now();
  log.info("{} stopped; starting it again on its new sockets", replica.identity);
  return true;
}

void Reloader::advance(bool stopping) {
  spdlog::logger& log = host_.logger();
  const auto now = Clock::now();
  if (!stopping) {  // the drain repeats STOP itself
    for (auto& replica : host_.running_replicas()) {
      if (replica.stop_sent && replica.state == ReplicaState::Stopping) host_.send(replica, runtime::kStop);
    }
  }
  for (auto it = removing_.begin(); it != removing_.end();) {
    const std::string name = *it;
    const runtime::StageConfig& old = *previous_.find(name);
    bool stop_sent = false;
    for (const auto& replica : host_.running_replicas())
      stop_sent = stop_sent || (replica.stage == name && replica.stop_sent);
    if (!old.inputs.empty() && !stop_sent && started_) {
      // A removed sink: once its producers run on the new config, nothing more comes; stop it when its
      // intake has settled with nothing pending (its producers' counts also hold what went elsewhere).
      bool producers_rewired = true;
      for (const auto& replica : host_.running_replicas()) {
        const bool producer = std::find(old.inputs.begin(), old.inputs.end(), replica.stage) != old.inputs.end();
        if (producer && respawn_.count(replica.identity)) producers_rewired = false;
      }
      const StageTotals mine = host_.totals().stages[name];
      auto& seen = intake_[name];
      if (seen.first != mine.received || seen.second == Clock::time_point{}) seen = {mine.received, now};
      if (producers_rewired && mine.pending == 0 && now - seen.second > kIntakeSettle) {
        log.info("reload: {} received {} document(s) and nothing more comes: stopping it", name, mine.received);
        for (auto& replica : host_.running_replicas()) {
          if (replica.stage != name) continue;
          replica.stop_sent = true;
          if (replica.state == ReplicaState::Backoff) replica.state = ReplicaState::Exited;
          if (replica.state != ReplicaState::Exited) replica.state = ReplicaState::Stopping;
          host_.send(replica, runtime::kStop);
        }
      }
    }
    if (!stop_sent || !host_.stage_exited(name)) {
      ++it;
      continue;
    }
    if (old.inputs.empty()) {
      // Its consumers no longer list it, but what it sent them is in what they received.
      const PipelineTotals t = host_.totals();
      for (const auto& consumer : previous_.consumers_of(name)) {
        if (host_.running_config().find(consumer) != nullptr) {
          adjust_[consumer] += static_cast<std::int64_t>(t.stages.at(name).sent_to(consumer));
        }
      }
    }
    std::erase_if(host_.running_replicas(), [&](const Replica& replica) { return replica.stage == name; });
    log.info("reload: {} removed", name);
    it = removing_.erase(it);
  }
  if (!started_) {
    bool sources_left = false;
    for (const auto& name : removing_) sources_left = sources_left || previous_.find(name)->inputs.empty();
    if (!sources_left) start_phase();
    return;
  }
  bool all_ready = respawn_.empty() && removing_.empty();
  std::string missing;
  for (const auto& replica : host_.running_replicas()) {
    if (replica.state != ReplicaState::Ready) missing += " " + replica.identity;
  }
  if (all_ready && missing.empty()) {
    log.info("reload applied: {} stage(s), {} process(es)", host_.running_config().stages.size(),
             host_.running_replicas().size());
  } else if (now > deadline_) {
    log.error("reload: still waiting after stage_timeout_ms for{}{}", missing,
              removing_.empty() ? "" : " and the removal of " + joined({removing_.begin(), removing_.end()}));
    deadline_ = Clock::time_point::max();  // said once; the reload goes on
    host_.notifier().ready("reload incomplete; " + host_.status_line());
    return;
  } else {
    return;
  }
  in_progress_ = false;
  new_links_.clear();
  if (deadline_ != Clock::time_point::max()) host_.notifier().ready(host_.status_line());
}

void Reloader::tick(bool starting, bool stopping, bool failed) {
  if (requested_ && !starting && !stopping && !in_progress_) {
    requested_ = false;
    reload();
  }
  if (in_progress_ && !failed) advance(stopping);
}

std::int64_t Reloader::adjustment(const std::string& stage) const {
  auto it = adjust_.find(stage);
  return it == adjust_.end() ? 0 : it->second;
}

}  // namespace vnawire::daemon
