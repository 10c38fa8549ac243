// Config loading: defaults, and every error naming file, line, column and key.
#include "stages/runtime/pipeline_config.h"

#include <gtest/gtest.h>

#include <set>

#include "stages/registry.h"
#include "stages/runtime/wiring.h"

namespace vnawire::runtime {
namespace {

LoadedConfig parse(const std::string& yaml) {
  return parse_pipeline_config(yaml, "test.yaml", "/base",
                               [](const std::string& type) { return stages::find_stage(type); });
}

std::string all_errors(const LoadedConfig& loaded) {
  std::string out;
  for (const auto& e : loaded.errors) out += e.to_string() + "\n";
  return out;
}

constexpr const char* kGood = R"(pipeline:
  state_dir: state
stages:
  - name: fetch
    type: fetch
    options: {directory: inbox}
  - name: dedupe
    type: dedupe
    inputs: [fetch]
  - name: langid
    type: langid
    inputs: [dedupe]
  - name: extract
    type: extract
    replicas: 3
    inputs: [langid]
  - name: out
    type: sink_jsonl
    inputs: [extract]
  - name: db
    type: sink_sqlite
    inputs: [extract]
)";

TEST(Config, GoodFileLoadsWithDefaults) {
  auto loaded = parse(kGood);
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded);
  const auto& config = loaded.config;
  EXPECT_EQ(config.state_dir, "/base/state");
  EXPECT_EQ(config.run_dir, "/base/state/run");
  ASSERT_EQ(config.stages.size(), 6u);
  EXPECT_EQ(config.find("extract")->replicas, 3);
  EXPECT_EQ(config.find("fetch")->options.get_int("poll_interval_ms"), 1000);
  EXPECT_EQ(config.find("dedupe")->options.get_string("action"), "drop");
  EXPECT_EQ(config.pipeline.get_string("transport"), "ipc");
  EXPECT_EQ(config.consumers_of("extract"), (std::vector<std::string>{"out", "db"}));
  auto order = config.topological_order();
  EXPECT_EQ(order.front(), "fetch");
  EXPECT_EQ(input_endpoints(config, "out").size(), 3u);
  EXPECT_EQ(output_endpoint(config, "extract", 2, "db"), "ipc:///base/state/run/extract.2.to.db");
}

TEST(Config, TcpEndpointsAreDistinctPorts) {
  std::string yaml = kGood;
  yaml.replace(yaml.find("  state_dir: state"), 18, "  state_dir: state\n  transport: tcp\n  tcp_base_port: 6000");
  auto loaded = parse(yaml);
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded);
  std::set<std::string> endpoints{control_endpoint(loaded.config)};
  std::size_t count = 1;
  for (const auto& stage : loaded.config.stages) {
    for (int r = 0; r < stage.replicas; ++r) {
      for (const auto& consumer : loaded.config.consumers_of(stage.name)) {
        endpoints.insert(output_endpoint(loaded.config, stage.name, r, consumer));
        ++count;
      }
    }
  }
  EXPECT_EQ(endpoints.size(), count);
  EXPECT_EQ(control_endpoint(loaded.config), "tcp://127.0.0.1:6000");
}

// exec in zmq mode: the daemon runs the program itself, and tells it everything in its environment.
TEST(Config, AnExecStageInZmqModeIsAProgramWithItsEndpointsInItsEnvironment) {
  std::string yaml = kGood;
  yaml +=
      "  - name: files\n    type: exec\n    replicas: 2\n    inputs: [extract]\n"
      "    options: {mode: zmq, command: [store.py, /records]}\n"
      "  - name: lines\n    type: exec\n    inputs: [extract]\n    options: {command: [store.sh]}\n";
  auto loaded = parse(yaml);
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded);
  const StageConfig& files = *loaded.config.find("files");
  const StageConfig& lines = *loaded.config.find("lines");
  EXPECT_EQ(files.descriptor->program(files.options), (std::vector<std::string>{"store.py", "/records"}));
  EXPECT_TRUE(lines.descriptor->program(lines.options).empty()) << "jsonl mode is a vnawire stage process";

  const auto environment = program_environment(loaded.config, files, 1);
  const std::set<std::string> variables(environment.begin(), environment.end());
  for (const char* expected : {"VNAWIRE_PROTOCOL=1", "VNAWIRE_STAGE=files", "VNAWIRE_REPLICA=1",
                               "VNAWIRE_IDENTITY=files#1", "VNAWIRE_CONTROL=ipc:///base/state/run/control",
                               "VNAWIRE_INPUTS=ipc:///base/state/run/extract.0.to.files "
                               "ipc:///base/state/run/extract.1.to.files ipc:///base/state/run/extract.2.to.files",
                               "VNAWIRE_HEARTBEAT_MS=1000", "VNAWIRE_DRAIN_TIMEOUT_MS=30000", "VNAWIRE_HWM=100",
                               "VNAWIRE_MAX_MESSAGE_BYTES=268435456", "VNAWIRE_STATE_DIR=/base/state/files",
                               "VNAWIRE_DEAD_LETTER=/base/state/deadletter/files.1.jsonl"}) {
    EXPECT_TRUE(variables.count(expected)) << expected;
  }
  EXPECT_EQ(environment.size(), 12u);

  // Its endpoints go in one space-separated variable: folders with whitespace are refused for this mode.
  yaml.replace(yaml.find("  state_dir: state"), 18, "  state_dir: my state");
  auto spaced = parse(yaml);
  ASSERT_EQ(spaced.errors.size(), 1u) << all_errors(spaced);
  EXPECT_NE(all_errors(spaced).find("mode: zmq mode passes endpoints separated by spaces"), std::string::npos)
      << all_errors(spaced);
}

// The acceptance case: an unknown key, a wrong type and a missing required key give three errors.
TEST(Config, ThreeErrorsEachWithLineColumnAndKey) {
  auto loaded = parse(R"(pipeline:
  state_dir: state
  colour: blue
stages:
  - name: fetch
    type: fetch
    options:
      poll_interval_ms: often
      sources:
        - kind: feed
  - name: out
    type: sink_jsonl
    inputs: [fetch]
)");
  ASSERT_EQ(loaded.errors.size(), 3u) << all_errors(loaded);
  EXPECT_EQ(loaded.errors[0].to_string().substr(0, 35), "test.yaml:3:3: pipeline.colour: unk");
  EXPECT_EQ(loaded.errors[1].line, 8);
  EXPECT_EQ(loaded.errors[1].column, 25);
  EXPECT_EQ(loaded.errors[1].key, "stages[0].options.poll_interval_ms");
  EXPECT_NE(loaded.errors[1].reason.find("expected an integer, found 'often'"), std::string::npos);
  EXPECT_EQ(loaded.errors[2].key, "stages[0].options.sources[0].name");
  EXPECT_EQ(loaded.errors[2].line, 10);
  EXPECT_NE(loaded.errors[2].reason.find("required key is missing"), std::string::npos);
}

TEST(Config, BoundsChoicesAndGraphErrors) {
  auto loaded = parse(R"(pipeline:
  transport: carrier-pigeon
  heartbeat_ms: 5
stages:
  - name: fetch
    type: fetch
    replicas: 2
    options: {directory: x}
  - name: x
    type: extractor
    inputs: [fetch]
  - name: y
    type: langid
    inputs: [nowhere]
)");
  const std::string text = all_errors(loaded);
  EXPECT_NE(text.find("test.yaml:2:14: pipeline.transport: 'carrier-pigeon' is not one of: ipc, tcp"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pipeline.heartbeat_ms: value 5 out of bounds: must be between 50 and 60000"), std::string::npos)
      << text;
  EXPECT_NE(text.find("stages[1].type: unknown stage type 'extractor'"), std::string::npos) << text;
}

TEST(Config, APostgresConnectTimeoutNotBelowTheStageTimeoutIsRejectedWithItsKey) {
  auto loaded = parse(R"(pipeline:
  stage_timeout_ms: 4000
stages:
  - name: fetch
    type: fetch
    options: {directory: inbox}
  - name: db
    type: sink_postgres
    inputs: [fetch]
    options: {connect_timeout_s: 4}
)");
  ASSERT_EQ(loaded.errors.size(), 1u) << all_errors(loaded);
  EXPECT_NE(loaded.errors[0].to_string().find("stages[1].options.connect_timeout_s: 4 s must be below "
                                              "pipeline.stage_timeout_ms (4000): a replica connecting that long"),
            std::string::npos)
      << loaded.errors[0].to_string();
}

TEST(Config, ASqliteBusyTimeoutNotBelowTheStageTimeoutIsRejectedWithItsLineAndKey) {
  auto loaded = parse(R"(pipeline:
  stage_timeout_ms: 4000
stages:
  - name: fetch
    type: fetch
    options: {directory: inbox}
  - name: db
    type: sink_sqlite
    inputs: [fetch]
    options:
      busy_timeout_ms: 4000
  - name: db2
    type: sink_sqlite
    inputs: [fetch]
)");
  ASSERT_EQ(loaded.errors.size(), 2u) << all_errors(loaded);
  EXPECT_EQ(loaded.errors[0].to_string(),
            "test.yaml:11:24: stages[1].options.busy_timeout_ms: 4000 must be below pipeline.stage_timeout_ms "
            "(4000): a replica waiting that long on a lock is killed as hung");
  // Left at its default (5000), the key is not in the file: the error points at the stage.
  EXPECT_EQ(loaded.errors[1].to_string(),
            "test.yaml:12:5: stages[2].options.busy_timeout_ms: 5000 must be below pipeline.stage_timeout_ms "
            "(4000): a replica waiting that long on a lock is killed as hung");
  EXPECT_TRUE(parse(std::string(kGood)).ok());
}

TEST(Config, GraphChecks) {
  auto loaded = parse(R"(stages:
  - {name: fetch, type: fetch, replicas: 2, options: {directory: x}}
  - {name: a, type: langid, inputs: [nowhere]}
  - {name: b, type: langid}
  - {name: s, type: sink_jsonl, inputs: [fetch]}
  - {name: c, type: langid, inputs: [s]}
)");
  const std::string text = all_errors(loaded);
  EXPECT_NE(text.find("stages[0].replicas: a fetch stage runs at most 1 replica(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown stage 'nowhere'"), std::string::npos) << text;
  EXPECT_NE(text.find("stage 'b' needs at least one input stage"), std::string::npos) << text;
  EXPECT_NE(text.find("'s' is a sink and has no output"), std::string::npos) << text;
}

TEST(Config, CycleAndDuplicateNames) {
  auto cycle = parse(R"(stages:
  - {name: fetch, type: fetch, options: {directory: x}}
  - {name: a, type: langid, inputs: [fetch, b]}
  - {name: b, type: langid, inputs: [a]}
)");
  EXPECT_NE(all_errors(cycle).find("the stage inputs form a cycle"), std::string::npos) << all_errors(cycle);
  auto twice = parse(R"(stages:
  - {name: fetch, type: fetch, options: {directory: x}}
  - {name: fetch, type: langid, inputs: [fetch]}
)");
  EXPECT_NE(all_errors(twice).find("stage name 'fetch' is used twice"), std::string::npos) << all_errors(twice);
}

TEST(Config, SyntaxErrorsAndWrongShapes) {
  auto syntax = parse("stages: [\n  - {name: fetch\n");
  ASSERT_FALSE(syntax.ok());
  EXPECT_GT(syntax.errors[0].line, 0);
  EXPECT_FALSE(parse("just a string").ok());
  EXPECT_FALSE(parse("stages: {}").ok());
  EXPECT_FALSE(parse("pipeline: [1, 2]\nstages: []").ok());
  auto long_path = parse("pipeline: {state_dir: /" + std::string(120, 'd') +
                         "}\nstages:\n  - {name: fetch, type: fetch, options: {directory: x}}\n"
                         "  - {name: s, type: sink_jsonl, inputs: [fetch]}\n");
  EXPECT_NE(all_errors(long_path).find("longer than 107 bytes"), std::string::npos) << all_errors(long_path);
}

TEST(Config, MissingFileIsAnError) {
  auto loaded = load_pipeline_config("/nonexistent/vnawire.yaml",
                                     [](const std::string& type) { return stages::find_stage(type); });
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].to_string(), "/nonexistent/vnawire.yaml: (file): cannot open the configuration file");
}

}  // namespace
}  // namespace vnawire::runtime
