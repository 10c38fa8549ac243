// The source's outbox journal: what it keeps across a restart, and what it does with a damaged file.
#include "stages/runtime/outbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace vnawire::runtime {
namespace {

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vnawire-outbox-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    file_ = dir_ / "outbox.0.journal";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string bytes() const {
    std::ifstream in(file_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void write_bytes(const std::string& content) const {
    std::ofstream out(file_, std::ios::binary | std::ios::trunc);
    out << content;
  }
  // Three documents, the second finished: what a reopened journal must show.
  void fill(Outbox& outbox) {
    ASSERT_TRUE(outbox.open(file_));
    outbox.add("one", "", 0, R"({"id":"one"})", 101, 1000);
    const std::uint64_t two = outbox.add("two", "t-2", 0, R"({"id":"two"})", 102, 1000);
    outbox.add("three", "", 1, std::string(5000, 'p'), 103, 1000);
    ASSERT_TRUE(outbox.commit());
    EXPECT_TRUE(outbox.done(two));
    outbox.resent(1, 201, 1, 4000);
    ASSERT_TRUE(outbox.commit());
  }

  std::filesystem::path dir_, file_;
};

TEST_F(OutboxTest, AReopenedJournalHasTheUnfinishedDocumentsWithTheirLastSend) {
  {
    Outbox outbox;
    fill(outbox);
  }
  Outbox reopened;
  ASSERT_TRUE(reopened.open(file_));
  EXPECT_TRUE(reopened.set_aside().empty());
  ASSERT_EQ(reopened.size(), 2u);
  std::uint64_t seq = 0;
  const Outbox::Entry* one = reopened.find_root(201, &seq);
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(seq, 1u);
  EXPECT_EQ(one->id, "one");
  EXPECT_EQ(one->attempt, 1u);
  EXPECT_EQ(one->sent_ms, 4000);
  EXPECT_EQ(one->first_ms, 1000);
  EXPECT_EQ(reopened.find_root(101, nullptr), nullptr) << "the root of the first send is forgotten";
  EXPECT_EQ(*reopened.payload(1), R"({"id":"one"})");
  EXPECT_EQ(*reopened.payload(3), std::string(5000, 'p'));
  EXPECT_EQ(reopened.find(2), nullptr);
  // Numbers go on after the last one, so a DONE for an old root never names a new document.
  EXPECT_EQ(reopened.add("four", "", 0, "{}", 104, 5000), 4u);
}

TEST_F(OutboxTest, ADocumentIsDueAfterTheTimeoutWhichDoublesWithEachAttempt) {
  Outbox outbox;
  ASSERT_TRUE(outbox.open(file_));
  outbox.add("first", "", 0, "{}", 1, 10'000);
  outbox.add("again", "", 2, "{}", 2, 10'000);
  EXPECT_TRUE(outbox.due(10'999, 1000, 10).empty());
  EXPECT_EQ(outbox.due(11'000, 1000, 10), std::vector<std::uint64_t>{1});
  EXPECT_EQ(outbox.due(13'999, 1000, 10), std::vector<std::uint64_t>{1});
  EXPECT_EQ(outbox.due(14'000, 1000, 10), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(outbox.due(14'000, 1000, 1), std::vector<std::uint64_t>{1}) << "at most `limit`, oldest first";
  // Without the backoff (a source draining): the plain timeout, whatever the attempt.
  EXPECT_EQ(outbox.due(11'000, 1000, 10, false), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(outbox.due(10'999, 1000, 10, false).empty());
}

TEST_F(OutboxTest, PayloadsNotYetCommittedAreReadFromMemory) {
  Outbox outbox;
  ASSERT_TRUE(outbox.open(file_));
  outbox.add("a", "", 0, "first payload", 1, 0);
  ASSERT_TRUE(outbox.commit());
  outbox.add("b", "", 0, "second payload", 2, 0);
  EXPECT_EQ(*outbox.payload(1), "first payload");
  EXPECT_EQ(*outbox.payload(2), "second payload");
}

TEST_F(OutboxTest, ARecordCutShortByACrashIsSetAsideAndTheWholeOnesKept) {
  {
    Outbox outbox;
    fill(outbox);
  }
  std::string content = bytes();
  write_bytes(content + content.substr(0, 30));  // a torn append: a record's header and part of its body
  Outbox reopened;
  ASSERT_TRUE(reopened.open(file_));
  EXPECT_NE(reopened.set_aside().find("30 damaged byte(s)"), std::string::npos) << reopened.set_aside();
  EXPECT_EQ(reopened.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(file_.string() + ".damaged"));
  Outbox again;
  ASSERT_TRUE(again.open(file_));
  EXPECT_TRUE(again.set_aside().empty()) << "the journal was rewritten whole";
  EXPECT_EQ(again.size(), 2u);
  EXPECT_EQ(*again.payload(3), std::string(5000, 'p'));
}

TEST_F(OutboxTest, AFlippedBitLosesOneRecordAndTheLaterOnesAreRead) {
  {
    Outbox outbox;
    ASSERT_TRUE(outbox.open(file_));
    for (int i = 0; i < 3; ++i) outbox.add("doc" + std::to_string(i), "", 0, std::string(100, 'a' + i), 10 + i, 0);
    ASSERT_TRUE(outbox.commit());
  }
  std::string content = bytes();
  content[content.size() / 2] ^= 0x10;  // inside the second record's payload
  write_bytes(content);
  Outbox reopened;
  ASSERT_TRUE(reopened.open(file_));
  EXPECT_FALSE(reopened.set_aside().empty());
  ASSERT_EQ(reopened.size(), 2u);
  EXPECT_NE(reopened.find(1), nullptr);
  EXPECT_EQ(reopened.find(2), nullptr);
  ASSERT_NE(reopened.find(3), nullptr);
  EXPECT_EQ(*reopened.payload(3), std::string(100, 'c'));
}

TEST_F(OutboxTest, AFileOfGarbageGivesAnEmptyOutboxThatWorks) {
  std::string garbage;
  for (int i = 0; i < 100000; ++i) garbage.push_back(static_cast<char>(i * 7919 % 251));
  write_bytes(garbage);
  Outbox outbox;
  ASSERT_TRUE(outbox.open(file_));
  EXPECT_FALSE(outbox.set_aside().empty());
  EXPECT_EQ(outbox.size(), 0u);
  outbox.add("fresh", "", 0, "{}", 1, 0);
  ASSERT_TRUE(outbox.commit());
  Outbox reopened;
  ASSERT_TRUE(reopened.open(file_));
  EXPECT_EQ(reopened.size(), 1u);
}

TEST_F(OutboxTest, TheJournalStartsAgainEmptyOnceEverythingIsFinished) {
  Outbox outbox;
  ASSERT_TRUE(outbox.open(file_));
  const std::string payload(100'000, 'x');
  for (int round = 0; round < 20; ++round) {
    const std::uint64_t seq = outbox.add("d", "", 0, payload, 1000 + round, 0);
    ASSERT_TRUE(outbox.commit());
    outbox.done(seq);
  }
  ASSERT_TRUE(outbox.commit());
  EXPECT_EQ(std::filesystem::file_size(file_), 0u);
}

TEST_F(OutboxTest, AJournalMostlyOfFinishedRecordsIsRewrittenWithTheLiveOnes) {
  Outbox outbox;
  ASSERT_TRUE(outbox.open(file_));
  const std::uint64_t kept = outbox.add("kept", "", 0, "live payload", 1, 0);
  const std::string payload(1'000'000, 'x');
  std::vector<std::uint64_t> finished;
  for (int i = 0; i < 20; ++i) finished.push_back(outbox.add("d", "", 0, payload, 100 + i, 0));
  ASSERT_TRUE(outbox.commit());
  EXPECT_GT(std::filesystem::file_size(file_), 20'000'000u);
  for (const std::uint64_t seq : finished) outbox.done(seq);
  ASSERT_TRUE(outbox.commit());
  EXPECT_LT(std::filesystem::file_size(file_), 1000u);
  EXPECT_EQ(*outbox.payload(kept), "live payload");
  Outbox reopened;
  ASSERT_TRUE(reopened.open(file_));
  EXPECT_EQ(reopened.size(), 1u);
  EXPECT_EQ(*reopened.payload(kept), "live payload");
}

}  // namespace
}  // namespace vnawire::runtime
