// Dedupe on generated streams: the expected count of each decision, and a restart that changes none.
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "stages/dedupe/dedupe_stage.h"
#include "tests/stages/dedupe/dedupe_stream.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::dedupe {
namespace {

using testing::DispatchStream;
using testing::make_document;
using testing::StageFixture;
using testing::StreamItem;

struct Decided {
  std::string status, of;
  bool operator==(const Decided&) const = default;
};

Decided decide(runtime::Stage& stage, const StreamItem& item) {
  auto document = make_document(item.id, item.body);
  const auto verdict = stage.on_message(document);
  EXPECT_EQ(verdict.disposition, runtime::Disposition::Forward) << item.id << " " << verdict.reason;
  const auto& tag = document.record["dedupe"];
  return {tag["status"].get<std::string>(), tag["of"].is_string() ? tag["of"].get<std::string>() : ""};
}

// The 10^5-document stream: about 10 s in Release on the 2-core machine, most of it preparing texts;
// bench/dedupe_bench.cc runs the same stream up to 10^7.
TEST(DedupeStream, AGeneratedStreamGivesTheExpectedDecisions) {
  constexpr int kDocuments = 100000;
  StageFixture fixture(dedupe_descriptor(), "{action: tag, near_action: tag, map_size_mb: 4096}");
  auto& stage = fixture.start();
  DispatchStream stream;
  std::map<std::string, int> expected, wrong;
  // A re-edit may be closest to another re-edit of the same original: either is right.
  std::map<std::string, std::string> original_of;
  const auto root = [&](const std::string& id) { return original_of.contains(id) ? original_of[id] : id; };
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < kDocuments; ++i) {
    const StreamItem item = stream.next();
    ++expected[item.expected];
    const Decided decided = decide(stage, item);
    if (item.expected == "near_duplicate") original_of[item.id] = item.of;
    if (decided.status != item.expected || root(decided.of) != item.of) {
      if (++wrong[item.expected + " decided " + decided.status] <= 3) {
        ADD_FAILURE() << item.id << ": expected " << item.expected << " of '" << item.of << "', got " << decided.status
                      << " of '" << decided.of << "'";
      }
    }
    if (i % 5000 == 4999) {
      ASSERT_TRUE(stage.flush().ok());
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  for (const auto& [decision, count] : expected) {
    EXPECT_EQ(fixture.counters().get(decision), static_cast<std::uint64_t>(count)) << decision;
  }
  EXPECT_GT(expected["near_duplicate"], kDocuments / 20);
  EXPECT_TRUE(wrong.empty());
  RecordProperty("microseconds_per_document", static_cast<int>(seconds * 1e6 / kDocuments));
}

TEST(DedupeStream, ARestartInTheMiddleOfAStreamKeepsEveryDecision) {
  constexpr int kDocuments = 3000, kRestartAt = 1700;
  std::vector<StreamItem> items;
  DispatchStream stream(7);
  for (int i = 0; i < kDocuments; ++i) items.push_back(stream.next());

  StageFixture straight(dedupe_descriptor(), "{action: tag, near_action: tag}");
  std::vector<Decided> reference;
  auto& once = straight.start();
  for (const auto& item : items) reference.push_back(decide(once, item));

  StageFixture interrupted(dedupe_descriptor(), "{action: tag, near_action: tag}");
  {
    auto& first = interrupted.start();
    for (int i = 0; i < kRestartAt; ++i) EXPECT_EQ(decide(first, items[i]), reference[i]) << i;
    // No flush: the process dies with what it committed.
  }
  auto& second = interrupted.start();
  // The documents not acknowledged before the crash come again: a unique one is a replay now, a copy
  // is still a copy of the same original.
  for (int i = kRestartAt - 20; i < kRestartAt; ++i) {
    const Decided again = decide(second, items[i]);
    if (reference[i].status == "unique" || reference[i].status == "replay") {
      EXPECT_EQ(again.status, "replay") << i;
    } else {
      EXPECT_EQ(again, reference[i]) << i;
    }
  }
  for (int i = kRestartAt; i < kDocuments; ++i) EXPECT_EQ(decide(second, items[i]), reference[i]) << i;
}

}  // namespace
}  // namespace vnawire::dedupe
