// Comparing two validated configs stage by stage, and the sockets each kept stage would bind or connect to.
#include "daemon/reload.h"

#include <algorithm>
#include <set>

#include "stages/runtime/wiring.h"

namespace vnawire::daemon {
namespace {

bool same_options(const runtime::Options& a, const runtime::Options& b, const runtime::OptionSpecs& specs) {
  if (a.values() != b.values()) return false;
  // Lists of sections (e.g. a fetch stage's sites) are held apart from the plain values.
  for (const auto& spec : specs) {
    if (spec.type != runtime::OptionType::SectionList || !spec.items) continue;
    const auto& left = a.get_sections(spec.key);
    const auto& right = b.get_sections(spec.key);
    if (left.size() != right.size()) return false;
    for (std::size_t i = 0; i < left.size(); ++i) {
      if (!same_options(left[i], right[i], *spec.items)) return false;
    }
  }
  return true;
}

bool is_source(const runtime::StageConfig& stage) { return stage.inputs.empty(); }
bool is_sink(const runtime::PipelineConfig& config, const runtime::StageConfig& stage) {
  return config.consumers_of(stage.name).empty();
}

// Every endpoint a stage's replicas bind or connect to: if it differs, the processes must be started again.
std::vector<std::string> sockets_of(const runtime::PipelineConfig& config, const runtime::StageConfig& stage) {
  std::vector<std::string> out = runtime::input_endpoints(config, stage.name);
  for (int r = 0; r < stage.replicas; ++r) {
    for (const auto& consumer : config.consumers_of(stage.name)) {
      out.push_back(runtime::output_endpoint(config, stage.name, r, consumer));
    }
  }
  return out;
}

// Names what differs in a stage kept by name, apart from inputs; empty when nothing does.
std::string stage_difference(const runtime::StageConfig& a, const runtime::StageConfig& b) {
  if (a.type != b.type) return "type";
  if (a.replicas != b.replicas) return "replicas";
  if (a.hwm != b.hwm) return "hwm";
  if (a.send_timeout_ms != b.send_timeout_ms) return "send_timeout_ms";
  if (a.external != b.external) return "supervised_by";
  if (a.host != b.host) return "host";
  if (!same_options(a.options, b.options, a.descriptor->options)) return "options";
  return "";
}

}  // namespace

ReloadPlan plan_reload(const runtime::PipelineConfig& running, const runtime::PipelineConfig& next) {
  ReloadPlan plan;
  auto refuse = [&](const std::string& what) { plan.refused.push_back("needs a restart: " + what); };

  // Folders, transport, timings: every process and socket depends on them.
  for (const auto& [key, value] : running.pipeline.values()) {
    if (!next.pipeline.has(key) || !(next.pipeline.values().at(key) == value)) refuse("pipeline." + key + " changed");
  }
  if (running.state_dir != next.state_dir) refuse("state_dir changed");
  if (running.run_dir != next.run_dir) refuse("run_dir changed");

  std::set<std::string> changing_sources;  // sources added or removed: their consumers' inputs may change
  // Stages of `from` missing in `to`: removed (from the running config) or added (from the next one).
  auto only_in = [&](const runtime::PipelineConfig& from, const runtime::PipelineConfig& to,
                     std::vector<std::string>& out, const std::string& refusal) {
    for (const auto& stage : from.stages) {
      if (to.find(stage.name) != nullptr) continue;
      if (!is_source(stage) && !is_sink(from, stage)) {
        refuse("stage '" + stage.name + "' " + refusal);
        continue;
      }
      out.push_back(stage.name);
      if (is_source(stage)) changing_sources.insert(stage.name);
    }
  };
  only_in(running, next, plan.removed, "removed, and it is neither a source nor a sink");
  only_in(next, running, plan.added, "added between other stages");

  for (const auto& stage : next.stages) {
    const runtime::StageConfig* before = running.find(stage.name);
    if (before == nullptr) continue;
    if (const std::string what = stage_difference(*before, stage); !what.empty()) {
      refuse("stage '" + stage.name + "' changed its " + what);
      continue;
    }
    // Inputs may differ only by sources that come or go.
    std::set<std::string> old_inputs(before->inputs.begin(), before->inputs.end());
    std::set<std::string> new_inputs(stage.inputs.begin(), stage.inputs.end());
    std::vector<std::string> differing;
    std::set_symmetric_difference(old_inputs.begin(), old_inputs.end(), new_inputs.begin(), new_inputs.end(),
                                  std::back_inserter(differing));
    const bool only_sources = std::all_of(differing.begin(), differing.end(),
                                          [&](const std::string& name) { return changing_sources.count(name) > 0; });
    if (!only_sources) {
      refuse("stage '" + stage.name + "' changed its inputs");
      continue;
    }
    if (sockets_of(running, *before) != sockets_of(next, stage)) plan.rewired.push_back(stage.name);
  }
  if (!plan.rewired.empty() && !next.pipeline.get_bool("acknowledgements")) {
    // Without outboxes, what a restarted stage leaves in its sockets would be lost.
    std::string names;
    for (const auto& name : plan.rewired) names += (names.empty() ? "" : ", ") + name;
    refuse("acknowledgements are off, so stages " + names + " cannot be restarted on their new sockets safely");
  }
  if (!plan.ok()) {
    plan.added.clear();
    plan.removed.clear();
    plan.rewired.clear();
  }
  return plan;
}

}  // namespace vnawire::daemon
