// `vnawire dead-letters` as a user meets it: listing, showing and purging a store with a damaged line, and
// documents a sink refused replayed through a real pipeline once the cause is fixed.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stages/runtime/codec.h"
#include "stages/runtime/dead_letter.h"
#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

// A store of three extract records and two from the sink, plus a bit-flipped line; returns the keys in order.
std::vector<std::string> write_store(const TempDir& dir) {
  const auto folder = dir / "state/deadletter";
  for (const auto& [stage, count] : {std::pair{std::string("extract"), 3}, std::pair{std::string("out"), 2}}) {
    runtime::DeadLetterWriter writer;
    EXPECT_TRUE(writer.open(folder / (stage + ".0.jsonl"), stage, 0).ok());
    for (int i = 0; i < count; ++i) {
      const std::string id = stage + "-" + std::to_string(i);
      const auto frames = runtime::encode(runtime::Document{{id, 1, "-"}, {{"id", id}, {"body", "texte " + id}}});
      EXPECT_TRUE(writer
                      .write(stage == "out" ? "the disk is full" : "body larger than max_bytes", id, frames.header,
                             frames.payload)
                      .ok());
    }
  }
  std::string text = read_file(folder / "extract.0.jsonl");
  text += text.substr(0, text.find('\n') + 1);
  text[text.rfind("larger")] = 'L';  // a copy of the first line, one byte changed
  write_file(folder / "extract.0.jsonl", text);
  std::vector<std::string> keys;
  Process list({kBinary, "dead-letters", "--state-dir", (dir / "state").string(), "--json", "list"}, dir.path());
  EXPECT_EQ(list.wait(seconds(20)), 0) << list.errors();
  for (const auto& row : nlohmann::json::parse(list.output())) keys.push_back(row.at("key"));
  return keys;
}

TEST(DeadLettersCli, ListShowsEveryRecordWithCountsAndSetsTheDamagedLineAside) {
  TempDir dir;
  ASSERT_EQ(write_store(dir).size(), 5u);
  Process list({kBinary, "dead-letters", "--state-dir", (dir / "state").string(), "list"}, dir.path());
  ASSERT_EQ(list.wait(seconds(20)), 0) << list.errors();
  const std::string out = list.output();
  for (const char* needle : {"extract-2", "out-1", "5 record(s)", "  3  extract", "  2  out", "  2  the disk is full",
                             "  3  body larger than max_bytes"}) {
    EXPECT_NE(out.find(needle), std::string::npos) << needle << "\n" << out;
  }
  EXPECT_NE(list.errors().find("line 4 of " + (dir / "state/deadletter/extract.0.jsonl").string() +
                               ": set aside: checksum mismatch"),
            std::string::npos)
      << list.errors();

  Process only({kBinary, "dead-letters", "--state-dir", (dir / "state").string(), "--json", "list", "--stage", "out",
                "--reason-contains", "disk", "--limit", "1"},
               dir.path());
  ASSERT_EQ(only.wait(seconds(20)), 0) << only.errors();
  const auto rows = nlohmann::json::parse(only.output());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("id"), "out-0");
  EXPECT_EQ(rows[0].at("attempt"), 1);

  for (const auto& [option, time, expected] :
       {std::tuple{"--since", "2000-01-01", 5u}, std::tuple{"--before", "2000", 0u},
        std::tuple{"--since", "2999-12-31T23:59", 0u}}) {
    Process when({kBinary, "dead-letters", "--state-dir", (dir / "state").string(), "--json", "list", option, time},
                 dir.path());
    ASSERT_EQ(when.wait(seconds(20)), 0) << when.errors();
    EXPECT_EQ(nlohmann::json::parse(when.output()).size(), expected) << option << " " << time;
  }
  Process bad({kBinary, "dead-letters", "--state-dir", (dir / "state").string(), "list", "--since", "yesterday"},
              dir.path());
  EXPECT_EQ(bad.wait(seconds(20)), 2);
}

TEST(DeadLettersCli, ShowPrintsTheWholeRecordAndPurgeRemovesWhatIsSelected) {
  TempDir dir;
  const auto keys = write_store(dir);
  ASSERT_EQ(keys.size(), 5u);
  const std::string state = (dir / "state").string();
  Process show({kBinary, "dead-letters", "--state-dir", state, "--json", "show", keys[1].substr(0, 8)}, dir.path());
  ASSERT_EQ(show.wait(seconds(20)), 0) << show.errors();
  const auto record = nlohmann::json::parse(show.output());
  EXPECT_EQ(record.at("id"), "extract-1");
  EXPECT_EQ(record.at("payload").at("body"), "texte extract-1");
  EXPECT_EQ(record.at("header"), "VNAW 1 1 - extract-1");

  Process missing({kBinary, "dead-letters", "--state-dir", state, "show", "abcdef0123"}, dir.path());
  EXPECT_EQ(missing.wait(seconds(20)), 1);
  EXPECT_NE(missing.errors().find("no record with key abcdef0123"), std::string::npos) << missing.errors();
  Process unguarded({kBinary, "dead-letters", "--state-dir", state, "purge"}, dir.path());
  EXPECT_EQ(unguarded.wait(seconds(20)), 2);
  Process nowhere({kBinary, "dead-letters", "--state-dir", (dir / "none").string(), "list"}, dir.path());
  EXPECT_EQ(nowhere.wait(seconds(20)), 2);
  EXPECT_NE(nowhere.errors().find("no state folder"), std::string::npos) << nowhere.errors();

  Process purge({kBinary, "dead-letters", "--state-dir", state, "purge", "--stage", "out"}, dir.path());
  ASSERT_EQ(purge.wait(seconds(20)), 0) << purge.errors();
  EXPECT_NE(purge.output().find("purged 2 record(s)"), std::string::npos) << purge.output();
  Process one({kBinary, "dead-letters", "--state-dir", state, "purge", keys[0]}, dir.path());
  ASSERT_EQ(one.wait(seconds(20)), 0) << one.errors();
  Process after({kBinary, "dead-letters", "--state-dir", state, "--json", "list"}, dir.path());
  ASSERT_EQ(after.wait(seconds(20)), 0) << after.errors();
  const auto rows = nlohmann::json::parse(after.output());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("id"), "extract-1");
  // The damaged line went to extract.0.jsonl.damaged with the rewrite, so it is no longer reported.
  EXPECT_EQ(after.errors(), "");
  EXPECT_NE(read_file(dir / "state/deadletter/extract.0.jsonl.damaged").find("Larger"), std::string::npos);
}

// fetch -> files, an exec sink that refuses every record while <dir>/closed exists.
std::string refusing_pipeline(const TempDir& dir) {
  write_file(dir / "shelf.sh",
             "#!/bin/sh\nwhile IFS= read -r line; do\n  id=$(printf '%s\\n' \"$line\" | jq -r .id)\n"
             "  if [ -e \"$1/closed\" ]; then printf 'error %s the shelf is closed\\n' \"$id\"; continue; fi\n"
             "  printf '%s\\n' \"$line\" >\"$1/records/$id.json\"\n  printf 'ok %s\\n' \"$id\"\ndone\n");
  std::filesystem::permissions(dir / "shelf.sh", std::filesystem::perms::owner_all);
  std::filesystem::create_directories(dir / "records");
  return "pipeline:\n  state_dir: " + (dir / "state").string() +
         "\n  flush_interval_ms: 100\n  heartbeat_ms: 200\nstages:\n"
         "  - name: fetch\n    type: fetch\n    options: {directory: " +
         (dir / "inbox").string() +
         ", poll_interval_ms: 100, settle_ms: 50}\n"
         "  - name: files\n    type: exec\n    inputs: [fetch]\n    options: {mode: jsonl, command: [" +
         (dir / "shelf.sh").string() + ", " + dir.path().string() + "]}\n";
}

TEST(DeadLettersCli, RefusedDocumentsReplayedAfterTheFixAreAllStoredAndLeaveTheStore) {
  TempDir dir;
  constexpr int kCount = 12;
  write_inbox(dir, 0, kCount);
  write_file(dir / "closed", "");
  const auto config = (dir / "pipeline.yaml").string();
  write_file(config, refusing_pipeline(dir));
  const auto letters = dir / "state/deadletter/files.0.jsonl";
  {
    Process daemon({kBinary, "run", "-c", config}, dir.path());
    ASSERT_TRUE(wait_until([&] { return count_lines(letters) >= kCount; }, seconds(60))) << daemon.errors();
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  }
  EXPECT_EQ(count_files(dir / "records", ".json"), 0);
  std::filesystem::remove(dir / "closed");
  // A crash cut the last record short: readers report it and skip it.
  write_file(letters, read_file(letters) + R"({"v":2,"time":"2026-12-)");

  Process replay({kBinary, "dead-letters", "--config", config, "replay", "--reason-contains", "shelf is closed"},
                 dir.path());
  ASSERT_EQ(replay.wait(seconds(20)), 0) << replay.errors();
  EXPECT_NE(replay.output().find("replaying " + std::to_string(kCount) + " record(s)"), std::string::npos)
      << replay.output();
  EXPECT_NE(replay.output().find((dir / "state/replay/fetch/").string()), std::string::npos)  // for fetch only
      << replay.output();
  EXPECT_NE(replay.errors().find("set aside: the last line is cut short"), std::string::npos) << replay.errors();
  // The rewrite moved that fragment to .damaged. For the next start to find: a record with a flipped bit (a
  // copy of a replayed one) and another fragment.
  std::string flipped = read_lines(dir / "state/deadletter/replayed/files.0.jsonl").at(0);
  flipped[flipped.find("shelf")] ^= 0x04;
  write_file(letters, read_file(letters) + flipped + "\n" + R"({"v":2,"time":"2026-12-)");

  Process daemon({kBinary, "run", "-c", config}, dir.path());
  ASSERT_TRUE(wait_until([&] { return count_files(dir / "records", ".json") >= kCount; }, seconds(60)))
      << daemon.errors();
  ASSERT_TRUE(wait_until([&] { return count_files(dir / "state/replay/claimed/fetch#0", ".jsonl") == 0; }, seconds(20)))
      << daemon.errors();
  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  EXPECT_EQ(count_files(dir / "records", ".json"), kCount);
  EXPECT_NE(daemon.errors().find("was cut short; moved it to " + letters.string() + ".damaged"), std::string::npos)
      << daemon.errors();
  EXPECT_NE(daemon.errors().find("line 1 of " + letters.string() + ": set aside: checksum mismatch; moved it to"),
            std::string::npos)
      << daemon.errors();
  EXPECT_NE(daemon.errors().find("files in " + std::to_string(kCount) + " out " + std::to_string(kCount)),
            std::string::npos)
      << daemon.errors();

  Process list({kBinary, "dead-letters", "--config", config, "--json", "list"}, dir.path());
  ASSERT_EQ(list.wait(seconds(20)), 0) << list.errors();
  EXPECT_EQ(nlohmann::json::parse(list.output()).size(), 0u) << list.output();
  EXPECT_EQ(count_lines(dir / "state/deadletter/replayed/files.0.jsonl"), static_cast<std::size_t>(kCount));
}

}  // namespace
}  // namespace vnawire::testing
