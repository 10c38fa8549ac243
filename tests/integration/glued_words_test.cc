// Runs tests/tools/glued_words.py on the seed dispatches so a weaker glued-word repair fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

// Floors and ceilings a little under the figures of docs/extract.md ("Glued words"), so noise in
// the tool does not fail the test but a lost rule does.
constexpr double kMinPrecision = 0.95;
constexpr double kMinRecall = 0.95;
constexpr int kMaxChangedInCleanSeeds = 2;  // per seed, in 000, 002, 003 and 004

TEST(ExtractGluedWords, SeedsKeepTheirRepairFigures) {
  const std::filesystem::path shared(VNAWIRE_SHARED_DIR);
  if (!std::filesystem::exists(shared / "seeds") || !std::filesystem::exists(shared / "eval" / "dev" / "gold.jsonl")) {
    GTEST_SKIP() << shared << " has no seeds or gold";
  }
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  TempDir dir;
  const std::string tool = std::string(VNAWIRE_SOURCE_DIR) + "/tests/tools/glued_words.py";
  Process run({"/usr/bin/python3", tool, "--bin", VNAWIRE_BINARY, "--seeds", (shared / "seeds").string(), "--gold",
               (shared / "eval" / "dev" / "gold.jsonl").string(), "--json"},
              dir.path());
  ASSERT_EQ(run.wait(seconds(120)), 0) << run.errors();
  const nlohmann::json report = nlohmann::json::parse(run.output());
  ASSERT_TRUE(report.contains("seed-001")) << run.output();
  const nlohmann::json& glued = report["seed-001"];
  EXPECT_GE(glued["precision"].get<double>(), kMinPrecision) << glued.dump(1);
  EXPECT_GE(glued["recall"].get<double>(), kMinRecall) << glued.dump(1);
  for (const char* clean : {"seed-000", "seed-002", "seed-003", "seed-004"}) {
    if (!report.contains(clean)) continue;
    EXPECT_GT(report[clean]["tokens"].get<int>(), 100) << clean << ": the body was not aligned with the seed";
    EXPECT_LE(report[clean]["changed"].get<int>(), kMaxChangedInCleanSeeds) << clean << ": " << report[clean].dump(1);
  }
}

}  // namespace
}  // namespace vnawire::testing
