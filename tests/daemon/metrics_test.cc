// The Prometheus text, the health check and the status document, from hand-made totals.
#include "daemon/metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "daemon/metrics_server.h"
#include "stages/registry.h"
#include "stages/runtime/pipeline_config.h"
#include "stages/runtime/stage_metrics.h"

namespace vnawire::daemon {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string got; std::getline(in, got);) {
    if (got == line) return true;
  }
  return false;
}

// One stage "dedupe" with one replica, and a fetch stage with a web source.
PipelineTotals known_totals() {
  PipelineTotals totals;
  totals.ready = true;
  StageTotals replica;
  replica.received = 10;
  replica.forwarded = 7;
  replica.dropped = 3;
  replica.pending = 2;
  replica.restarts = 1;
  replica.replicas_ready = 1;
  replica.measures.dropped_by = {{"duplicate", 2}, {"near_duplicate", 1}};
  replica.measures.errors = {{"decode", 4}};
  replica.measures.latency_buckets[0] = 5;   // <= 100 us
  replica.measures.latency_buckets[3] = 3;   // <= 1 ms
  replica.measures.latency_buckets[14] = 2;  // over 5 s
  replica.measures.latency_sum_us = 12'500'000;
  replica.measures.last_id = "doc-9";
  replica.measures.last_time_ms = 1'700'000'000'250;
  replica.counters = {{"unique", 7}};
  StageTotals& dedupe = totals.stages["dedupe"];
  dedupe.replicas.push_back(replica);

  StageTotals source;
  source.forwarded = 4;
  source.replicas_ready = 1;
  source.counters = {{"vna.polls", 6},          {"vna.status.200", 5}, {"vna.status.304", 1},
                     {"vna.errors.timeout", 2}, {"vna.bytes", 1234},   {"files_read", 0}};
  totals.stages["fetch"].replicas.push_back(source);
  return totals;
}

TEST(Metrics, RendersKnownTotalsLineByLine) {
  const std::string text = render_prometheus(known_totals());
  for (const char* line : {
           "# HELP vnawire_documents_received_total Documents the replica took in.",
           "# TYPE vnawire_documents_received_total counter",
           "vnawire_documents_received_total{stage=\"dedupe\",replica=\"0\"} 10",
           "vnawire_documents_out_total{stage=\"dedupe\",replica=\"0\"} 7",
           "vnawire_documents_dropped_total{stage=\"dedupe\",replica=\"0\",reason=\"duplicate\"} 2",
           "vnawire_documents_dropped_total{stage=\"dedupe\",replica=\"0\",reason=\"near_duplicate\"} 1",
           "vnawire_errors_total{stage=\"dedupe\",replica=\"0\",kind=\"decode\"} 4",
           "vnawire_queue_depth{stage=\"dedupe\",replica=\"0\"} 2",
           "vnawire_restarts_total{stage=\"dedupe\",replica=\"0\"} 1",
           "vnawire_replica_up{stage=\"dedupe\",replica=\"0\"} 1",
           "vnawire_last_document_timestamp_seconds{stage=\"dedupe\",replica=\"0\"} 1700000000.25",
           "vnawire_stage_events_total{stage=\"dedupe\",replica=\"0\",name=\"unique\"} 7",
           "vnawire_stage_events_total{stage=\"fetch\",replica=\"0\",name=\"files_read\"} 0",
           "vnawire_source_polls_total{stage=\"fetch\",replica=\"0\",source=\"vna\"} 6",
           "vnawire_source_bytes_total{stage=\"fetch\",replica=\"0\",source=\"vna\"} 1234",
           "vnawire_source_http_responses_total{stage=\"fetch\",replica=\"0\",source=\"vna\",status=\"200\"} 5",
           "vnawire_source_http_responses_total{stage=\"fetch\",replica=\"0\",source=\"vna\",status=\"304\"} 1",
           "vnawire_source_errors_total{stage=\"fetch\",replica=\"0\",source=\"vna\",kind=\"timeout\"} 2",
           "# TYPE vnawire_processing_seconds histogram",
           "vnawire_processing_seconds_sum{stage=\"dedupe\",replica=\"0\"} 12.5",
           "vnawire_processing_seconds_count{stage=\"dedupe\",replica=\"0\"} 10",
           "vnawire_pipeline_ready 1",
       }) {
    EXPECT_TRUE(has_line(text, line)) << "missing: " << line << "\nin:\n" << text;
  }
  // Per-source counters are exposed once, as source metrics, not again as stage events.
  EXPECT_EQ(text.find("name=\"vna.polls\""), std::string::npos);
  // No reason is invented when every drop has one.
  EXPECT_EQ(text.find("reason=\"unspecified\""), std::string::npos);
}

TEST(Metrics, BacklogIsWhatTheInputsSentAndTheStageHasNotTakenIn) {
  PipelineTotals totals = known_totals();
  totals.stages["fetch"].forwarded = 14;
  totals.stages["dedupe"].received = 10;
  const PipelineShape shape{{"fetch", "dedupe"}, {{"fetch", {}}, {"dedupe", {"fetch"}}}};
  const std::string text = render_prometheus(totals, &shape);
  EXPECT_TRUE(has_line(text, "# TYPE vnawire_stage_backlog gauge"));
  EXPECT_TRUE(has_line(text, "vnawire_stage_backlog{stage=\"fetch\"} 0"));
  EXPECT_TRUE(has_line(text, "vnawire_stage_backlog{stage=\"dedupe\"} 4"));
  EXPECT_EQ(render_prometheus(totals).find("vnawire_stage_backlog{"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulativeAndEndWithInf) {
  const std::string text = render_prometheus(known_totals());
  std::vector<std::pair<std::string, std::uint64_t>> buckets;
  std::istringstream in(text);
  const std::string prefix = "vnawire_processing_seconds_bucket{stage=\"dedupe\",replica=\"0\",le=\"";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const auto quote = line.find('"', prefix.size());
    buckets.emplace_back(line.substr(prefix.size(), quote - prefix.size()), std::stoull(line.substr(line.rfind(' '))));
  }
  ASSERT_EQ(buckets.size(), runtime::kLatencyBoundsUs.size() + 1);
  EXPECT_EQ(buckets.front(), (std::pair<std::string, std::uint64_t>{"0.0001", 5}));
  EXPECT_EQ(buckets[2], (std::pair<std::string, std::uint64_t>{"0.0005", 5}));
  EXPECT_EQ(buckets[3], (std::pair<std::string, std::uint64_t>{"0.001", 8}));
  EXPECT_EQ(buckets[13], (std::pair<std::string, std::uint64_t>{"5", 8}));
  EXPECT_EQ(buckets.back(), (std::pair<std::string, std::uint64_t>{"+Inf", 10}));
  for (std::size_t i = 1; i < buckets.size(); ++i) EXPECT_GE(buckets[i].second, buckets[i - 1].second);
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  PipelineTotals totals;
  StageTotals replica;
  replica.counters = {{"odd \"name\"\\\n", 1}};
  totals.stages["s"].replicas.push_back(replica);
  EXPECT_TRUE(has_line(render_prometheus(totals),
                       "vnawire_stage_events_total{stage=\"s\",replica=\"0\",name=\"odd \\\"name\\\"\\\\\\n\"} 1"));
}

TEST(Metrics, DropsWithoutReasonsAreStillCounted) {
  PipelineTotals totals;
  StageTotals replica;
  replica.dropped = 4;
  replica.measures.dropped_by = {{"language_en", 1}};
  totals.stages["langid"].replicas.push_back(replica);
  const std::string text = render_prometheus(totals);
  EXPECT_TRUE(
      has_line(text, "vnawire_documents_dropped_total{stage=\"langid\",replica=\"0\",reason=\"language_en\"} 1"));
  EXPECT_TRUE(
      has_line(text, "vnawire_documents_dropped_total{stage=\"langid\",replica=\"0\",reason=\"unspecified\"} 3"));
}

TEST(Metrics, ABackfillsProgressIsAPairOfGaugesOfTheSourcesReadingFiles) {
  PipelineTotals totals = known_totals();
  totals.stages["fetch"].replicas[0].progress_done = 2'500;
  totals.stages["fetch"].replicas[0].progress_total = 10'000;
  const std::string text = render_prometheus(totals);
  EXPECT_TRUE(has_line(text, "# TYPE vnawire_backfill_read_bytes gauge")) << text;
  EXPECT_TRUE(has_line(text, "vnawire_backfill_read_bytes{stage=\"fetch\",replica=\"0\"} 2500")) << text;
  EXPECT_TRUE(has_line(text, "vnawire_backfill_size_bytes{stage=\"fetch\",replica=\"0\"} 10000")) << text;
  // Stages reading no files have no such series.
  EXPECT_EQ(text.find("vnawire_backfill_read_bytes{stage=\"dedupe\""), std::string::npos) << text;
}

TEST(Metrics, EveryFamilyIsDocumented) {
  std::ifstream in(std::string(VNAWIRE_SOURCE_DIR) + "/docs/metrics.md");
  ASSERT_TRUE(in) << "docs/metrics.md is missing";
  const std::string docs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& family : metric_families()) {
    EXPECT_NE(docs.find("`vnawire_" + std::string(family.name) + "`"), std::string::npos)
        << "docs/metrics.md does not describe vnawire_" << family.name;
  }
}

TEST(Metrics, DropReasonLabelsNameTheKindNotTheDocument) {
  EXPECT_EQ(runtime::drop_reason_label("duplicate of f-1234"), "duplicate");
  EXPECT_EQ(runtime::drop_reason_label("near duplicate of f-1234"), "near_duplicate");
  EXPECT_EQ(runtime::drop_reason_label("language en is not accepted"), "language_en");
  EXPECT_EQ(runtime::drop_reason_label("Filtered: too short"), "filtered");
  EXPECT_EQ(runtime::drop_reason_label(""), "unspecified");
  runtime::StageMetrics metrics;
  for (int i = 0; i < 40; ++i) metrics.dropped("reason number " + std::to_string(i) + ": detail");
  nlohmann::json body;
  metrics.write(body);
  EXPECT_EQ(body["dropped_by"].size(), runtime::kMaxDropReasons + 1);  // the first ones, then "other"
  EXPECT_EQ(body["dropped_by"]["other"], 40 - runtime::kMaxDropReasons);
}

TEST(Metrics, StageLatencyGoesToTheFirstBucketThatHoldsIt) {
  runtime::StageMetrics metrics;
  metrics.observe_latency(100);        // on the bound: in it
  metrics.observe_latency(101);        // just over
  metrics.observe_latency(9'999'999);  // past the last bound
  nlohmann::json body;
  metrics.write(body);
  EXPECT_EQ(body["latency"]["buckets"][0], 1);
  EXPECT_EQ(body["latency"]["buckets"][1], 1);
  EXPECT_EQ(body["latency"]["buckets"][runtime::kLatencyBoundsUs.size()], 1);
  EXPECT_EQ(body["latency"]["sum_us"], 10'000'200);
}

TEST(Health, NamesAReplicaThatIsDownAndAStuckStage) {
  PipelineShape shape{{"fetch", "sink"}, {{"fetch", {}}, {"sink", {"fetch"}}}};
  HealthTracker health(shape, std::chrono::seconds(30));
  PipelineTotals totals;
  totals.ready = true;
  StageTotals up;
  up.replicas_ready = 1;
  totals.stages["fetch"].replicas = {up};
  totals.stages["fetch"].replicas_ready = 1;
  totals.stages["sink"].replicas = {up, up};
  totals.stages["sink"].replicas_ready = 1;
  const auto t0 = HealthTracker::Clock::now();
  health.observe(totals, t0);
  EXPECT_EQ(health.problem(totals, t0), "sink: 1 of 2 replicas up");

  totals.stages["sink"].replicas_ready = 2;
  EXPECT_EQ(health.problem(totals, t0), "");
  // The source sent 5 and the sink took none: fine for a while, stuck after 30 s without progress.
  totals.stages["fetch"].forwarded = 5;
  health.observe(totals, t0 + std::chrono::seconds(1));
  EXPECT_EQ(health.problem(totals, t0 + std::chrono::seconds(20)), "");
  EXPECT_EQ(health.problem(totals, t0 + std::chrono::seconds(45)),
            "sink: no progress for 45 s with 5 document(s) waiting");
  totals.stopping = true;
  EXPECT_EQ(health.problem(totals, t0), "stopping");
  totals.stopping = false;
  totals.ready = false;
  EXPECT_NE(health.problem(totals, t0).find("starting"), std::string::npos);
}

TEST(Health, RateIsDocumentsPerSecondOverTheWindow) {
  PipelineShape shape{{"fetch", "sink"}, {{"fetch", {}}, {"sink", {"fetch"}}}};
  HealthTracker health(shape, std::chrono::seconds(30));
  PipelineTotals totals;
  const auto t0 = HealthTracker::Clock::now();
  health.observe(totals, t0);
  totals.stages["fetch"].forwarded = 20;
  totals.stages["sink"].received = 10;
  health.observe(totals, t0 + std::chrono::seconds(2));
  EXPECT_DOUBLE_EQ(health.rate("fetch"), 10.0);
  EXPECT_DOUBLE_EQ(health.rate("sink"), 5.0);
  const auto status = status_json(totals, health, t0, 1000);
  ASSERT_EQ(status["stages"].size(), 2u);
  EXPECT_EQ(status["stages"][0]["name"], "fetch");
  EXPECT_DOUBLE_EQ(status["stages"][0]["rate"].get<double>(), 10.0);
}

TEST(MetricsAddress, ParsesHostAndPort) {
  std::string host;
  unsigned short port = 0;
  EXPECT_EQ(parse_host_port("127.0.0.1:9464", host, port), "");
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9464);
  EXPECT_EQ(parse_host_port("[::1]:0", host, port), "");
  EXPECT_EQ(host, "::1");
  EXPECT_NE(parse_host_port("localhost", host, port), "");
  EXPECT_NE(parse_host_port("127.0.0.1:99999", host, port), "");
  EXPECT_NE(parse_host_port("example.org:80", host, port), "");
  EXPECT_TRUE(metrics_disabled("off"));
  EXPECT_TRUE(metrics_disabled(""));
  EXPECT_FALSE(metrics_disabled("127.0.0.1:9464"));
}

TEST(StatusTable, OneLinePerStageWithTheLastDocumentsAge) {
  const auto status = nlohmann::json::parse(R"({"ready": true, "healthy": false, "problem": "sink: 1 of 2 replicas up",
    "stages": [{"name": "fetch", "replicas": 1, "replicas_up": 1, "received": 0, "out": 12, "rate": 2.54,
                "dropped": 0, "dead_lettered": 0, "errors": 0, "restarts": 0, "last_id": "f-1", "last_time_ms": 1000},
               {"name": "sink", "replicas": 2, "replicas_up": 1, "received": 12, "out": 11, "rate": 0,
                "dropped": 1, "dead_lettered": 0, "errors": 3, "restarts": 2, "last_id": "", "last_time_ms": 0}]})");
  const std::string table = render_status_table(status, 1000 + 125'000);
  EXPECT_EQ(table,
            "pipeline: ready, unhealthy: sink: 1 of 2 replicas up\n"
            "STAGE        REPLICAS        IN       OUT   RATE/S  DROPPED   DEAD ERRORS RESTARTS  LAST DOCUMENT\n"
            "fetch             1/1         0        12      2.5        0      0      0        0  f-1 (2m05s ago)\n"
            "sink              1/2        12        11      0.0        1      0      3        2  -\n");
}

TEST(StatusTable, ABackfillGetsALineWithItsBar) {
  const auto status = nlohmann::json::parse(R"({"ready": true, "healthy": true,
    "stages": [{"name": "fetch", "replicas": 1, "replicas_up": 1, "received": 0, "out": 3, "rate": 1,
                "backfill_read_bytes": 3000000, "backfill_size_bytes": 4000000}]})");
  const std::string table = render_status_table(status, 0);
  EXPECT_NE(table.find("\nbackfill of fetch: [######################........]  75%  3.0 MB/4.0 MB\n"),
            std::string::npos)
      << table;
}

runtime::LoadedConfig load_with_address(const std::string& line) {
  const std::string yaml = "pipeline:\n  state_dir: state\n" + line +
                           "stages:\n  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
                           "  - {name: out, type: sink_jsonl, inputs: [fetch], options: {path: out.jsonl}}\n";
  return runtime::parse_pipeline_config(yaml, "test.yaml", "/base",
                                        [](const std::string& type) { return stages::find_stage(type); });
}

TEST(MetricsAddress, ABadOneIsAConfigErrorWithFileLineAndKey) {
  const auto loaded = load_with_address("  metrics_address: localhost\n");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].file, "test.yaml");
  EXPECT_EQ(loaded.errors[0].line, 3);
  EXPECT_EQ(loaded.errors[0].key, "pipeline.metrics_address");
  EXPECT_TRUE(load_with_address("  metrics_address: off\n").ok());
  EXPECT_TRUE(load_with_address("  metrics_address: \"[::1]:0\"\n").ok());
}

TEST(MetricsAddress, TheEnvironmentGivesTheDefaultButNotOverAFileValue) {
  ::setenv("VNAWIRE_METRICS_ADDRESS", "127.0.0.1:0", 1);
  EXPECT_EQ(load_with_address("").config.pipeline.get_string("metrics_address"), "127.0.0.1:0");
  EXPECT_EQ(load_with_address("  metrics_address: 127.0.0.1:9999\n").config.pipeline.get_string("metrics_address"),
            "127.0.0.1:9999");
  ::unsetenv("VNAWIRE_METRICS_ADDRESS");
  EXPECT_EQ(load_with_address("").config.pipeline.get_string("metrics_address"), "127.0.0.1:9464");
}

}  // namespace
}  // namespace vnawire::daemon
