// Prometheus text, health and the status document, from the supervisor's totals.
#include "daemon/metrics.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "daemon/progress_bar.h"
#include "stages/runtime/stage_metrics.h"

namespace vnawire::daemon {
namespace {

// Per-source counters a fetch stage reports as "<source>.<suffix>", exposed as vnawire_source_<suffix>_total.
constexpr std::array<std::string_view, 5> kSourceSuffixes = {"polls", "items_new", "bytes", "requests", "pages"};

struct SourceKey {
  std::string source, what, detail;  // what: a suffix above, "status" (detail: the code) or "errors" (the kind)
};

// Splits a stage counter into its source form, or returns false for a counter that is not per source.
bool source_counter(const std::string& name, SourceKey& key) {
  const auto dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  const std::string_view rest = std::string_view(name).substr(dot + 1);
  for (std::string_view suffix : kSourceSuffixes) {
    if (rest == suffix) {
      key = {name.substr(0, dot), std::string(suffix), ""};
      return true;
    }
  }
  for (std::string_view group : {std::string_view("status."), std::string_view("errors.")}) {
    if (rest.substr(0, group.size()) == group && rest.size() > group.size()) {
      key = {name.substr(0, dot), std::string(group.substr(0, group.size() - 1)),
             std::string(rest.substr(group.size()))};
      return true;
    }
  }
  return false;
}

class Writer {
 public:
  void family(std::string_view name) {
    for (const auto& f : metric_families()) {
      if (f.name != name) continue;
      fmt::format_to(std::back_inserter(out_), "# HELP vnawire_{} {}\n# TYPE vnawire_{} {}\n", f.name, f.help, f.name,
                     f.type);
    }
  }
  // One sample; `labels` are name/value pairs, already in order.
  void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              std::string_view value) {
    out_ += "vnawire_";
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, text] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label;
        out_ += "=\"";
        out_ += escape_label_value(text);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string number(std::uint64_t n) { return std::to_string(n); }
std::string seconds(double s) { return fmt::format("{}", s); }

// Calls `each(stage, replica label, replica totals)` for every replica of every stage, in name order.
template <typename Each>
void for_replicas(const PipelineTotals& totals, Each each) {
  for (const auto& [stage, t] : totals.stages) {
    for (std::size_t r = 0; r < t.replicas.size(); ++r) each(stage, std::to_string(r), t.replicas[r]);
  }
}

}  // namespace

const std::vector<MetricFamily>& metric_families() {
  static const std::vector<MetricFamily> families = {
      {"documents_received_total", "counter", "stage, replica", "Documents the replica took in."},
      {"documents_out_total", "counter", "stage, replica",
       "Documents the replica handed to every regular consumer (a sink: stored durably)."},
      {"documents_routed_total", "counter", "stage, replica, target",
       "Documents the replica sent to one route target alone."},
      {"documents_dropped_total", "counter", "stage, replica, reason",
       "Documents dropped on purpose (duplicates, filtered languages), by reason."},
      {"documents_dead_lettered_total", "counter", "stage, replica", "Documents written to the dead letters."},
      {"documents_retried_total", "counter", "stage, replica", "Retry verdicts (transient failures)."},
      {"errors_total", "counter", "stage, replica, kind", "Failures by kind (dead letters by cause, failed flushes)."},
      {"processing_seconds", "histogram", "stage, replica", "Time the stage spent on one document."},
      {"queue_depth", "gauge", "stage, replica", "Documents the replica holds, waiting to be handed on or retried."},
      {"stage_backlog", "gauge", "stage",
       "Documents the stage's inputs sent it that it has not taken in yet (its input queue, as far as counted)."},
      {"in_flight", "gauge", "stage, replica", "Sources: documents sent and not acknowledged yet."},
      {"backfill_read_bytes", "gauge", "stage, replica",
       "Sources reading WARC files: bytes of them read so far (files read completely by earlier runs included)."},
      {"backfill_size_bytes", "gauge", "stage, replica", "Sources reading WARC files: their total size."},
      {"replica_up", "gauge", "stage, replica", "1 when the replica runs and has reported ready."},
      {"restarts_total", "counter", "stage, replica", "Times the daemon restarted the replica after a crash or hang."},
      {"replays_total", "counter", "stage, replica",
       "Documents seen again: received with attempt > 0, or sent again by a source for want of an acknowledgement."},
      {"last_document_timestamp_seconds", "gauge", "stage, replica",
       "When the replica last handled a document (Unix time)."},
      {"stage_events_total", "counter", "stage, replica, name",
       "The stage's own counters (languages found, duplicates, rows stored...)."},
      {"source_polls_total", "counter", "stage, replica, source", "Polls of a source's feeds, sitemaps and pages."},
      {"source_items_new_total", "counter", "stage, replica, source", "New items a source announced."},
      {"source_requests_total", "counter", "stage, replica, source", "HTTP requests made for a source."},
      {"source_pages_total", "counter", "stage, replica, source", "Listing pages read for a source."},
      {"source_bytes_total", "counter", "stage, replica, source", "Bytes received for a source, as on the wire."},
      {"source_http_responses_total", "counter", "stage, replica, source, status", "HTTP answers by status."},
      {"source_errors_total", "counter", "stage, replica, source, kind",
       "Failed fetches by kind (timeout, connect, http_503, parse...)."},
      {"pipeline_ready", "gauge", "", "1 once every replica has reported ready, 0 before and while stopping."},
      {"bad_control_messages_total", "counter", "", "Malformed control messages, or from no replica of this pipeline."},
  };
  return families;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::uint64_t stage_backlog(const PipelineTotals& totals, const PipelineShape& shape, const std::string& stage) {
  const auto inputs = shape.inputs.find(stage);
  const auto mine = totals.stages.find(stage);
  if (inputs == shape.inputs.end() || mine == totals.stages.end()) return 0;
  std::uint64_t expected = 0;
  for (const auto& input : inputs->second) {
    if (auto in = totals.stages.find(input); in != totals.stages.end()) expected += in->second.sent_to(stage);
  }
  return expected > mine->second.received ? expected - mine->second.received : 0;
}

std::string render_prometheus(const PipelineTotals& totals, const PipelineShape* shape) {
  Writer w;
  auto simple = [&](std::string_view name, auto value_of) {
    w.family(name);
    for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
      w.sample(name, {{"stage", stage}, {"replica", replica}}, value_of(r));
    });
  };
  simple("documents_received_total", [](const StageTotals& r) { return number(r.received); });
  simple("documents_out_total", [](const StageTotals& r) { return number(r.forwarded); });
  w.family("documents_routed_total");
  for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
    for (const auto& [target, n] : r.routed) {
      w.sample("documents_routed_total", {{"stage", stage}, {"replica", replica}, {"target", target}}, number(n));
    }
  });
  w.family("documents_dropped_total");
  for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
    std::uint64_t explained = 0;
    for (const auto& [reason, n] : r.measures.dropped_by) {
      explained += n;
      w.sample("documents_dropped_total", {{"stage", stage}, {"replica", replica}, {"reason", reason}}, number(n));
    }
    // A stage that reports no reasons (an exec program): its drops are still counted.
    if (r.dropped > explained) {
      w.sample("documents_dropped_total", {{"stage", stage}, {"replica", replica}, {"reason", "unspecified"}},
               number(r.dropped - explained));
    }
  });
  simple("documents_dead_lettered_total", [](const StageTotals& r) { return number(r.dead_lettered); });
  simple("documents_retried_total", [](const StageTotals& r) { return number(r.retried); });
  w.family("errors_total");
  for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
    for (const auto& [kind, n] : r.measures.errors) {
      w.sample("errors_total", {{"stage", stage}, {"replica", replica}, {"kind", kind}}, number(n));
    }
  });
  w.family("processing_seconds");
  for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
    std::uint64_t cumulative = 0;
    const auto& buckets = r.measures.latency_buckets;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      cumulative += buckets[i];
      const std::string le = i < runtime::kLatencyBoundsUs.size()
                                 ? seconds(static_cast<double>(runtime::kLatencyBoundsUs[i]) / 1e6)
                                 : "+Inf";
      w.sample("processing_seconds_bucket", {{"stage", stage}, {"replica", replica}, {"le", le}}, number(cumulative));
    }
    w.sample("processing_seconds_sum", {{"stage", stage}, {"replica", replica}},
             seconds(static_cast<double>(r.measures.latency_sum_us) / 1e6));
    w.sample("processing_seconds_count", {{"stage", stage}, {"replica", replica}}, number(cumulative));
  });
  simple("queue_depth", [](const StageTotals& r) { return number(r.pending); });
  if (shape != nullptr) {
    w.family("stage_backlog");
    for (const auto& stage : shape->stages) {
      w.sample("stage_backlog", {{"stage", stage}}, number(stage_backlog(totals, *shape, stage)));
    }
  }
  simple("in_flight", [](const StageTotals& r) { return number(r.in_flight); });
  for (const auto& [name, done] : {std::pair{"backfill_read_bytes", true}, std::pair{"backfill_size_bytes", false}}) {
    w.family(name);
    for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
      if (r.progress_total > 0) {
        w.sample(name, {{"stage", stage}, {"replica", replica}}, number(done ? r.progress_done : r.progress_total));
      }
    });
  }
  simple("replica_up", [](const StageTotals& r) { return number(r.replicas_ready > 0 ? 1 : 0); });
  simple("restarts_total", [](const StageTotals& r) { return number(r.restarts); });
  simple("replays_total", [](const StageTotals& r) { return number(r.measures.replays); });
  w.family("last_document_timestamp_seconds");
  for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
    if (r.measures.last_time_ms == 0) return;
    w.sample("last_document_timestamp_seconds", {{"stage", stage}, {"replica", replica}},
             seconds(static_cast<double>(r.measures.last_time_ms) / 1e3));
  });
  w.family("stage_events_total");
  SourceKey key;
  for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
    for (const auto& [name, n] : r.counters) {
      if (!source_counter(name, key)) {
        w.sample("stage_events_total", {{"stage", stage}, {"replica", replica}, {"name", name}}, number(n));
      }
    }
  });
  // Per source: one family per suffix, then statuses and errors.
  for (std::string_view suffix : kSourceSuffixes) {
    const std::string family = fmt::format("source_{}_total", suffix);
    w.family(family);
    for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
      for (const auto& [name, n] : r.counters) {
        if (source_counter(name, key) && key.what == suffix) {
          w.sample(family, {{"stage", stage}, {"replica", replica}, {"source", key.source}}, number(n));
        }
      }
    });
  }
  for (const auto& [what, family, label] : {std::tuple{"status", "source_http_responses_total", "status"},
                                            std::tuple{"errors", "source_errors_total", "kind"}}) {
    w.family(family);
    for_replicas(totals, [&](const std::string& stage, const std::string& replica, const StageTotals& r) {
      for (const auto& [name, n] : r.counters) {
        if (source_counter(name, key) && key.what == what) {
          w.sample(family, {{"stage", stage}, {"replica", replica}, {"source", key.source}, {label, key.detail}},
                   number(n));
        }
      }
    });
  }
  w.family("pipeline_ready");
  w.sample("pipeline_ready", {}, totals.ready && !totals.stopping ? "1" : "0");
  w.family("bad_control_messages_total");
  w.sample("bad_control_messages_total", {}, number(totals.bad_control_messages));
  return w.take();
}

void HealthTracker::observe(const PipelineTotals& totals, Clock::time_point now) {
  Sample sample{now, {}};
  const StageTotals none;
  for (const auto& stage : shape_.stages) {
    const auto found = totals.stages.find(stage);
    const StageTotals& t = found == totals.stages.end() ? none : found->second;
    const auto inputs = shape_.inputs.find(stage);
    const bool source = inputs == shape_.inputs.end() || inputs->second.empty();
    sample.through[stage] = source ? t.forwarded : t.received;
    const std::uint64_t work = t.received + t.forwarded + t.dropped + t.dead_lettered + t.retried;
    auto& [seen, since] = last_work_[stage];
    if (seen != work || since == Clock::time_point{}) {
      seen = work;
      since = now;
    }
  }
  samples_.push_back(std::move(sample));
  // Rates over about ten seconds: long enough to smooth batches, short enough to show a stall.
  while (samples_.size() > 2 && now - samples_.front().at > std::chrono::seconds(10)) samples_.pop_front();
}

double HealthTracker::rate(const std::string& stage) const {
  if (samples_.size() < 2) return 0;
  const Sample& first = samples_.front();
  const Sample& last = samples_.back();
  const double span = std::chrono::duration<double>(last.at - first.at).count();
  if (span <= 0) return 0;
  const auto a = first.through.find(stage), b = last.through.find(stage);
  if (a == first.through.end() || b == last.through.end() || b->second < a->second) return 0;
  return static_cast<double>(b->second - a->second) / span;
}

std::string HealthTracker::problem(const PipelineTotals& totals, Clock::time_point now) const {
  if (totals.stopping) return "stopping";
  if (!totals.ready) return "starting: not every replica has reported ready yet";
  for (const auto& stage : shape_.stages) {
    const auto it = totals.stages.find(stage);
    if (it == totals.stages.end()) continue;
    const StageTotals& t = it->second;
    if (t.replicas_ready < static_cast<int>(t.replicas.size())) {
      return fmt::format("{}: {} of {} replicas up", stage, t.replicas_ready, t.replicas.size());
    }
    // Stuck: documents wait for the stage (held by it, or sent to it and not taken) and it did nothing.
    const std::uint64_t backlog = stage_backlog(totals, shape_, stage);
    const bool waiting = t.pending > 0 || backlog > 0;
    const auto moved = last_work_.find(stage);
    if (waiting && moved != last_work_.end() && now - moved->second.second > stuck_after_) {
      return fmt::format("{}: no progress for {} s with {} document(s) waiting", stage,
                         std::chrono::duration_cast<std::chrono::seconds>(now - moved->second.second).count(),
                         t.pending + backlog);
    }
  }
  return "";
}

nlohmann::json status_json(const PipelineTotals& totals, const HealthTracker& health,
                           HealthTracker::Clock::time_point now, std::int64_t wall_now_ms) {
  nlohmann::json out;
  out["ready"] = totals.ready && !totals.stopping;
  out["stopping"] = totals.stopping;
  const std::string problem = health.problem(totals, now);
  out["healthy"] = problem.empty();
  out["problem"] = problem;
  out["time_ms"] = wall_now_ms;
  out["stages"] = nlohmann::json::array();
  for (const auto& name : health.shape().stages) {
    const auto it = totals.stages.find(name);
    if (it == totals.stages.end()) continue;
    const StageTotals& t = it->second;
    std::uint64_t errors = 0;
    for (const auto& [kind, n] : t.measures.errors) errors += n;
    nlohmann::json stage = {{"name", name},
                            {"replicas", t.replicas.size()},
                            {"replicas_up", t.replicas_ready},
                            {"received", t.received},
                            {"out", t.forwarded},
                            {"routed", t.routed},
                            {"rate", health.rate(name)},
                            {"dropped", t.dropped},
                            {"dead_lettered", t.dead_lettered},
                            {"errors", errors},
                            {"restarts", t.restarts},
                            {"queue_depth", t.pending},
                            {"backlog", stage_backlog(totals, health.shape(), name)},
                            {"in_flight", t.in_flight},
                            {"backfill_read_bytes", t.progress_done},
                            {"backfill_size_bytes", t.progress_total},
                            {"last_id", t.measures.last_id},
                            {"last_time_ms", t.measures.last_time_ms}};
    nlohmann::json replicas = nlohmann::json::array();
    for (std::size_t r = 0; r < t.replicas.size(); ++r) {
      const StageTotals& mine = t.replicas[r];
      replicas.push_back({{"replica", r},
                          {"state", mine.state},
                          {"pid", mine.pid},
                          {"received", mine.received},
                          {"out", mine.forwarded},
                          {"restarts", mine.restarts},
                          {"queue_depth", mine.pending}});
    }
    stage["replica_states"] = std::move(replicas);
    out["stages"].push_back(std::move(stage));
  }
  return out;
}

namespace {

std::string age_text(std::int64_t ms) {
  if (ms < 0) ms = 0;
  const std::int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  return fmt::format("{}d{:02}h", s / 86400, (s / 3600) % 24);
}

// Long ids (URL-based) keep their end, which is what tells them apart.
std::string shorten(const std::string& id, std::size_t width) {
  if (id.size() <= width) return id;
  return "…" + id.substr(id.size() - (width - 1));
}

}  // namespace

std::string render_status_table(const nlohmann::json& status, std::int64_t wall_now_ms) {
  std::string out;
  const bool healthy = status.value("healthy", false);
  const std::string problem = status.value("problem", std::string());
  out += fmt::format("pipeline: {}{}\n", status.value("ready", false) ? "ready" : "not ready",
                     healthy ? ", healthy" : ", unhealthy: " + problem);
  out += fmt::format("{:<12} {:>8} {:>9} {:>9} {:>8} {:>8} {:>6} {:>6} {:>8}  {}\n", "STAGE", "REPLICAS", "IN", "OUT",
                     "RATE/S", "DROPPED", "DEAD", "ERRORS", "RESTARTS", "LAST DOCUMENT");
  for (const auto& stage : status.value("stages", nlohmann::json::array())) {
    std::string last = "-";
    const auto last_id = stage.value("last_id", std::string());
    const auto last_ms = stage.value("last_time_ms", std::int64_t{0});
    if (!last_id.empty()) last = fmt::format("{} ({} ago)", shorten(last_id, 40), age_text(wall_now_ms - last_ms));
    out += fmt::format("{:<12} {:>8} {:>9} {:>9} {:>8.1f} {:>8} {:>6} {:>6} {:>8}  {}\n", stage.value("name", "?"),
                       fmt::format("{}/{}", stage.value("replicas_up", 0), stage.value("replicas", 0)),
                       stage.value("received", std::uint64_t{0}), stage.value("out", std::uint64_t{0}),
                       stage.value("rate", 0.0), stage.value("dropped", std::uint64_t{0}),
                       stage.value("dead_lettered", std::uint64_t{0}), stage.value("errors", std::uint64_t{0}),
                       stage.value("restarts", std::uint64_t{0}), last);
  }
  for (const auto& stage : status.value("stages", nlohmann::json::array())) {
    const auto total = stage.value("backfill_size_bytes", std::uint64_t{0});
    if (total == 0) continue;
    out += fmt::format(
        "backfill of {}: {}\n", stage.value("name", "?"),
        render_progress("", stage.value("backfill_read_bytes", std::uint64_t{0}), total, ProgressUnit::Bytes, 0)
            .substr(1));
  }
  return out;
}

}  // namespace vnawire::daemon
