// The dead-letter store: records read back as written, damage found and set aside, and replays picked up
// by a source's runtime.
#include <gtest/gtest.h>

#include <fstream>

#include "stages/runtime/codec.h"
#include "stages/runtime/dead_letter.h"
#include "stages/runtime/dead_letter_store.h"
#include "stages/runtime/replay_spool.h"
#include "tests/stages/runner_fixture.h"

namespace vnawire::runtime {
namespace {

using std::chrono::seconds;

class DeadLetterFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vnawire-deadletter-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path file() const { return dir_ / "deadletter" / "sink.0.jsonl"; }
  std::string read() const {
    std::ifstream in(file(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void overwrite(const std::string& text) const { std::ofstream(file(), std::ios::binary | std::ios::trunc) << text; }
  // Writes `count` records of documents doc-0, doc-1... with attempt 2.
  void write_records(int count) {
    DeadLetterWriter writer;
    ASSERT_TRUE(writer.open(file(), "sink", 0).ok());
    for (int i = 0; i < count; ++i) {
      Document document{{"doc-" + std::to_string(i), 2, "t"}, {{"id", "doc-" + std::to_string(i)}, {"n", i}}};
      const Frames frames = encode(document);
      ASSERT_TRUE(writer.write("refused " + std::to_string(i), "", frames.header, frames.payload).ok());
    }
  }

  std::filesystem::path dir_;
};

TEST_F(DeadLetterFiles, ARecordReadsBackVerifiedWithItsDocumentAndBinaryFramesSurviveAsBase64) {
  write_records(1);
  {
    DeadLetterWriter writer;
    ASSERT_TRUE(writer.open(file(), "sink", 0).ok());
    EXPECT_EQ(writer.set_aside(), "");
    auto w = writer.write("binary", "b", "VNAW 1 0 - b", std::string("\xff\x00\x01", 3));
    ASSERT_TRUE(w.ok()) << w.message();
  }
  const DeadLetterScan scan = scan_dead_letters(dir_ / "deadletter");
  ASSERT_EQ(scan.letters.size(), 2u);
  EXPECT_TRUE(scan.set_aside.empty());
  const DeadLetter& first = scan.letters[0].letter;
  EXPECT_TRUE(first.verified);
  EXPECT_EQ(first.key, first.fields.at("checksum"));
  EXPECT_EQ(first.id, "doc-0");  // from the header, since the caller gave none
  EXPECT_EQ(first.attempt, 2);
  EXPECT_EQ(first.stage, "sink");
  EXPECT_EQ(first.reason, "refused 0");
  EXPECT_EQ(first.time.size(), 24u) << first.time;  // 2026-12-02T02:50:00.123Z
  auto document = decode(first.header, first.payload);
  ASSERT_TRUE(document.ok()) << document.error();
  EXPECT_EQ(document->record.at("n"), 0);
  const DeadLetter& binary = scan.letters[1].letter;
  EXPECT_TRUE(binary.fields.contains("payload_base64"));
  EXPECT_EQ(binary.payload, std::string("\xff\x00\x01", 3));
}

TEST_F(DeadLetterFiles, ABitFlipIsCaughtByTheChecksumAndOnlyThatLineIsSetAside) {
  write_records(3);
  std::string text = read();
  const std::size_t second = text.find('\n') + 1;
  const std::size_t at = text.find("refused 1", second);
  ASSERT_NE(at, std::string::npos);
  text[at] ^= 0x04;  // "refused" -> "vefused": still JSON, no longer the checksummed text
  overwrite(text);
  const DeadLetterScan scan = scan_dead_letters(file());
  ASSERT_EQ(scan.letters.size(), 2u);
  EXPECT_EQ(scan.letters[0].letter.id, "doc-0");
  EXPECT_EQ(scan.letters[1].letter.id, "doc-2");
  ASSERT_EQ(scan.set_aside.size(), 1u);
  EXPECT_EQ(scan.set_aside[0].to_string(), "line 2 of " + file().string() + ": set aside: checksum mismatch");

  auto moved = set_aside_damaged_lines(file());
  ASSERT_TRUE(moved.ok()) << moved.error();
  ASSERT_EQ(moved->size(), 1u);
  const DeadLetterScan after = scan_dead_letters(file());
  EXPECT_EQ(after.letters.size(), 2u);
  EXPECT_TRUE(after.set_aside.empty());
  std::ifstream damaged(file().string() + ".damaged");
  std::string comment, line;
  std::getline(damaged, comment);
  std::getline(damaged, line);
  EXPECT_EQ(comment, "# " + scan.set_aside[0].to_string());
  EXPECT_NE(line.find("vefused 1"), std::string::npos) << line;
  EXPECT_TRUE(set_aside_damaged_lines(file())->empty());  // a whole file is left alone
}

TEST_F(DeadLetterFiles, AVersionOneLineIsReadAsUnverified) {
  std::filesystem::create_directories(file().parent_path());
  overwrite(
      R"({"time":1764643800123,"stage":"extract","replica":1,"reason":"old","id":"x","header":"VNAW 1 3 - x","payload":"{\"id\":\"x\"}"})"
      "\n");
  const DeadLetterScan scan = scan_dead_letters(file());
  ASSERT_EQ(scan.letters.size(), 1u);
  EXPECT_FALSE(scan.letters[0].letter.verified);
  EXPECT_EQ(scan.letters[0].letter.attempt, 3);
  EXPECT_EQ(scan.letters[0].letter.time, "2025-12-02T02:50:00.123Z");
  EXPECT_EQ(scan.letters[0].letter.key.size(), 16u);
}

TEST_F(DeadLetterFiles, ALastLineCutShortIsMovedAsideAtOpenSoTheNextRecordStartsOnItsOwnLine) {
  write_records(2);
  std::string text = read();
  overwrite(text.substr(0, text.size() - 20));
  EXPECT_EQ(scan_dead_letters(file()).set_aside.size(), 1u);  // readers see it too
  DeadLetterWriter writer;
  ASSERT_TRUE(writer.open(file(), "sink", 0).ok());
  EXPECT_NE(writer.set_aside().find("line 2"), std::string::npos) << writer.set_aside();
  EXPECT_NE(writer.set_aside().find(".damaged"), std::string::npos) << writer.set_aside();
  ASSERT_TRUE(writer.write("after", "z", "", "").ok());
  const DeadLetterScan scan = scan_dead_letters(file());
  EXPECT_TRUE(scan.set_aside.empty());
  ASSERT_EQ(scan.letters.size(), 2u);
  EXPECT_EQ(scan.letters[1].letter.reason, "after");
  EXPECT_TRUE(std::filesystem::exists(file().string() + ".damaged"));
}

TEST_F(DeadLetterFiles, RemovingRecordsRewritesTheFileAndAWriterThatHadItOpenAppendsToTheNewOne) {
  write_records(3);
  DeadLetterWriter writer;
  ASSERT_TRUE(writer.open(file(), "sink", 0).ok());
  const auto before = scan_dead_letters(file());
  auto removed = remove_dead_letters(file().parent_path(), {before.letters[1].letter.key}, dir_ / "kept");
  ASSERT_TRUE(removed.ok()) << removed.error();
  EXPECT_EQ(removed.value(), 1u);
  ASSERT_TRUE(writer.write("late", "w", "", "").ok());
  const auto after = scan_dead_letters(file());
  ASSERT_EQ(after.letters.size(), 3u);
  EXPECT_EQ(after.letters[1].letter.id, "doc-2");
  EXPECT_EQ(after.letters[2].letter.reason, "late");
  const auto kept = scan_dead_letters(dir_ / "kept");
  ASSERT_EQ(kept.letters.size(), 1u);
  EXPECT_EQ(kept.letters[0].letter.id, "doc-1");
}

TEST_F(DeadLetterFiles, TheSpoolGivesDocumentsWithTheNextAttemptAndRemovesItsFileOnlyWhenAllWereSent) {
  write_records(2);
  std::filesystem::create_directories(replay_spool_dir(dir_));
  std::filesystem::copy_file(file(), replay_spool_dir(dir_) / "r1.jsonl");
  ReplaySpool spool(dir_, "src", "src#0");
  auto taken = spool.take(64);
  ASSERT_EQ(taken.documents.size(), 2u);
  EXPECT_EQ(taken.documents[0].header.id, "doc-0");
  EXPECT_EQ(taken.documents[0].header.attempt, 3u);
  const auto claimed = replay_spool_dir(dir_) / "claimed" / "src#0" / "r1.jsonl";
  EXPECT_TRUE(std::filesystem::exists(claimed));
  spool.sent();
  EXPECT_TRUE(std::filesystem::exists(claimed));
  // A new spool (a restart) finds the claimed file again.
  ReplaySpool restarted(dir_, "src", "src#0");
  EXPECT_EQ(restarted.take(64).documents.size(), 2u);
  restarted.sent();
  restarted.abandoned();  // kept for the next start
  EXPECT_TRUE(std::filesystem::exists(claimed));
  EXPECT_TRUE(restarted.take(64).documents.empty());
  ReplaySpool again(dir_, "src", "src#0");
  EXPECT_EQ(again.take(1).documents.size(), 1u);
  EXPECT_EQ(again.take(1).documents.size(), 1u);
  again.sent();
  again.sent();
  EXPECT_FALSE(std::filesystem::exists(claimed));
}

TEST(StageRunner, ARunningSourceSendsReplayedDeadLettersWithoutTellingItsStage) {
  testing::RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: out, type: sink_jsonl, inputs: [src]}\n");
  fixture.start("src");
  auto consumer = fixture.consumer("src", "out");
  // Written while the source runs: it looks at the spool about once a second.
  const auto spool = replay_spool_dir(fixture.config().state_dir);
  std::filesystem::create_directories(spool);
  {
    DeadLetterWriter writer;
    ASSERT_TRUE(writer.open(spool / "r.part", "out", 0).ok());
    const Frames frames = encode(Document{{"again", 0, "-"}, {{"id", "again"}}});
    ASSERT_TRUE(writer.write("refused", "again", frames.header, frames.payload).ok());
  }
  std::filesystem::rename(spool / "r.part", spool / "r.jsonl");  // whole, as `vnawire dead-letters` leaves it
  auto header = decode_header(testing::receive_header(consumer));
  ASSERT_TRUE(header.ok()) << header.error();
  EXPECT_EQ(header->id, "again");
  EXPECT_EQ(header->attempt, 1u);
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == 1; }, seconds(10)));
  EXPECT_EQ(fixture.counter("replayed"), 1u);
  EXPECT_EQ(fixture.stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(spool / "claimed" / "src#0" / "r.jsonl"));
  EXPECT_TRUE(testing::source_script().sent_ids().empty());
}

}  // namespace
}  // namespace vnawire::runtime
