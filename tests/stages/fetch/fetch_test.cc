// Fetch: directory tailing, settle time, state across restarts, and rejected files.
#include "stages/fetch/fetch_stage.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "stages/fetch/fetch_directory.h"
#include "stages/fetch/fetch_engine.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::fetch {
namespace {

using testing::StageFixture;

class Collector final : public runtime::Emitter {
 public:
  void emit(runtime::Document document) override { documents.push_back(std::move(document)); }
  std::vector<runtime::Document> documents;
};

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(FetchDirectory, ContentTypesAndIds) {
  EXPECT_EQ(content_type_for("a/b.TXT"), "text/plain");
  EXPECT_EQ(content_type_for("a/b.htm"), "text/html");
  EXPECT_EQ(content_type_for("a/b.pdf"), "");
  EXPECT_EQ(document_id_for("file:///x"), document_id_for("file:///x"));
  EXPECT_NE(document_id_for("file:///x"), document_id_for("file:///y"));
  EXPECT_EQ(document_id_for("file:///x").size(), 18u);
}

TEST(FetchStage, EmitsEachFileOnceAndRemembersAcrossRestarts) {
  StageFixture fixture(fetch_descriptor(), "{directory: inbox, settle_ms: 0}");
  write(fixture.dir() / "inbox/a.txt", "Un texte.");
  write(fixture.dir() / "inbox/b.html", "<p>Une page.</p>");
  write(fixture.dir() / "inbox/.hidden.txt", "skip");
  write(fixture.dir() / "inbox/c.pdf", "skip");
  write(fixture.dir() / "inbox/d.txt.part", "skip");
  {
    auto& stage = fixture.start();
    Collector out;
    stage.produce(out, 64);
    ASSERT_EQ(out.documents.size(), 2u);
    std::map<std::string, std::string> types;
    for (const auto& d : out.documents) {
      EXPECT_EQ(d.record["id"], d.header.id);
      EXPECT_EQ(d.record["source"], "fetch");
      types[d.record["url"].get<std::string>().substr(d.record["url"].get<std::string>().rfind('/') + 1)] =
          d.record["content_type"];
    }
    EXPECT_EQ(types["a.txt"], "text/plain");
    EXPECT_EQ(types["b.html"], "text/html");
    // Only a.txt is acknowledged as sent before the "crash": b.html must come again.
    stage.on_sent(out.documents[0]);
    ASSERT_TRUE(stage.flush().ok());
    Collector again;
    stage.produce(again, 64);
    EXPECT_TRUE(again.documents.empty());
  }
  auto& restarted = fixture.start();
  Collector out;
  restarted.produce(out, 64);
  ASSERT_EQ(out.documents.size(), 1u);
  EXPECT_NE(out.documents[0].record["url"].get<std::string>().find("b.html"), std::string::npos);
}

TEST(FetchStage, PicksUpNewAndChangedFilesWhileRunning) {
  StageFixture fixture(fetch_descriptor(), "{directory: inbox, settle_ms: 0, poll_interval_ms: 10}");
  write(fixture.dir() / "inbox/a.txt", "Version un.");
  auto& stage = fixture.start();
  Collector first;
  stage.produce(first, 64);
  ASSERT_EQ(first.documents.size(), 1u);
  stage.on_sent(first.documents[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write(fixture.dir() / "inbox/a.txt", "Version deux, plus longue.");
  write(fixture.dir() / "inbox/new.txt", "Nouveau.");
  Collector second;
  stage.produce(second, 64);
  ASSERT_EQ(second.documents.size(), 2u);
  // A changed file keeps its id: dedupe sees an update of the same document.
  bool saw_update = false;
  for (const auto& d : second.documents) saw_update |= d.header.id == first.documents[0].header.id;
  EXPECT_TRUE(saw_update);
}

TEST(FetchStage, FilesStillBeingWrittenWaitForTheSettleTime) {
  StageFixture fixture(fetch_descriptor(), "{directory: inbox, settle_ms: 60000}");
  write(fixture.dir() / "inbox/a.txt", "Tout frais.");
  auto& stage = fixture.start();
  Collector out;
  stage.produce(out, 64);
  EXPECT_TRUE(out.documents.empty());
}

TEST(FetchStage, DecodesLegacyCharsetsAndDeadLettersOversizedFiles) {
  StageFixture fixture(fetch_descriptor(), "{directory: inbox, settle_ms: 0, max_bytes: 100}");
  write(fixture.dir() / "inbox/latin1.txt", "caf\xe9");
  write(fixture.dir() / "inbox/big.txt", std::string(200, 'a'));
  write(fixture.dir() / "inbox/bom.txt", "\xEF\xBB\xBFTexte avec BOM.");
  auto& stage = fixture.start();
  Collector out;
  stage.produce(out, 64);
  ASSERT_EQ(out.documents.size(), 2u);
  std::set<std::string> bodies;
  for (const auto& document : out.documents) bodies.insert(document.record["body"].get<std::string>());
  EXPECT_EQ(bodies, (std::set<std::string>{"Texte avec BOM.", "café"}));
  ASSERT_EQ(fixture.dead_letters.size(), 1u);
  EXPECT_NE(fixture.dead_letters[0].find("larger than max_bytes"), std::string::npos);
  EXPECT_EQ(fixture.counters().get("files_rejected"), 1u);
}

// The file is read in one go of the size it has: one of exactly max_bytes is whole, one byte more is refused.
TEST(FetchStage, AFileOfExactlyMaxBytesIsReadWhole) {
  StageFixture fixture(fetch_descriptor(), "{directory: inbox, settle_ms: 0, max_bytes: 4096}");
  std::string text;
  for (int i = 0; text.size() < 4096; ++i) text += "Ligne " + std::to_string(i) + " d'un texte assez long.\n";
  text.resize(4096);
  write(fixture.dir() / "inbox/exact.txt", text);
  write(fixture.dir() / "inbox/over.txt", text + "x");
  auto& stage = fixture.start();
  Collector out;
  stage.produce(out, 64);
  ASSERT_EQ(out.documents.size(), 1u);
  EXPECT_EQ(out.documents[0].record["body"].get<std::string>(), text);
  ASSERT_EQ(fixture.dead_letters.size(), 1u);
  EXPECT_NE(fixture.dead_letters[0].find("larger than max_bytes"), std::string::npos);
}

// read_file itself: the limit is on what the file holds when it is read (it may have grown since the listing);
// a FIFO in a file's place is refused at once, not waited on.
TEST(FetchReadFile, ReadsWholeFilesUpToTheLimitAndRefusesTheRest) {
  StageFixture fixture(fetch_descriptor(), "{directory: inbox}");  // for its temporary folder
  const std::filesystem::path dir = fixture.dir();
  std::string text;
  for (int i = 0; text.size() < 70000; ++i) text += "Paragraphe " + std::to_string(i) + " d'un long texte.\n";
  write(dir / "a.txt", text);
  bool too_large = true;
  EXPECT_EQ(read_file(dir / "a.txt", text.size(), too_large), text);
  EXPECT_FALSE(too_large);
  EXPECT_EQ(read_file(dir / "a.txt", text.size() + 1000, too_large), text);
  EXPECT_EQ(read_file(dir / "a.txt", text.size() - 1, too_large), std::nullopt);
  EXPECT_TRUE(too_large);
  write(dir / "empty.txt", "");
  EXPECT_EQ(read_file(dir / "empty.txt", 100, too_large), std::string());
  EXPECT_EQ(read_file(dir / "missing.txt", 100, too_large), std::nullopt);
  EXPECT_FALSE(too_large);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(read_file(dir / "fifo", 100, too_large), std::nullopt);
  EXPECT_FALSE(too_large);
}

TEST(FetchStage, RateLimitBoundsEachCall) {
  StageFixture fixture(fetch_descriptor(), "{directory: inbox, settle_ms: 0, max_docs_per_second: 5}");
  for (int i = 0; i < 20; ++i) write(fixture.dir() / ("inbox/" + std::to_string(i) + ".txt"), "Texte " + std::to_string(i));
  auto& stage = fixture.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Collector out;
  auto delay = stage.produce(out, 64);
  EXPECT_LE(out.documents.size(), 5u);
  EXPECT_GE(out.documents.size(), 1u);
  EXPECT_GT(delay.count(), 0);
}

// The state log's versions are std::filesystem's size and last_write_time (file_clock nanoseconds); a scan,
// which stats each file itself, must read the same ones, or every file would be sent again after an upgrade.
TEST(FetchDirectory, ScanMatchesVersionsTheStateLogHolds) {
  StageFixture fixture(fetch_descriptor(), "{directory: inbox}");
  const auto inbox = fixture.dir() / "inbox";
  for (const char* name : {"kept.txt", "changed.txt", "damaged.txt", "new.html"}) write(inbox / name, "Un texte.");
  write(inbox / "sub/deeper.txt", "Plus bas.");
  auto version = [](const std::filesystem::path& file) {
    const auto mtime = std::filesystem::last_write_time(file);
    return std::to_string(std::filesystem::file_size(file)) + ":" +
           std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count());
  };
  {
    std::ofstream log(fixture.dir() / "state.log");
    log << (inbox / "kept.txt").string() << "\t" << version(inbox / "kept.txt") << "\n";
    log << (inbox / "changed.txt").string() << "\t" << version(inbox / "changed.txt") << "\n";
    log << (inbox / "damaged.txt").string() << "\t12:x\n";
    log << (inbox / "sub/deeper.txt").string() << "\t" << version(inbox / "sub/deeper.txt") << "\n";
  }
  write(inbox / "changed.txt", "Un texte plus long.");
  for (const bool recursive : {false, true}) {
    DirectoryTail tail;
    ASSERT_TRUE(tail.open({inbox, {".txt", ".html"}, recursive, 0}, fixture.dir() / "state.log").ok());
    EXPECT_EQ(tail.scan(), 3u);
    std::set<std::string> queued;
    while (tail.has_next()) queued.insert(tail.next().path.filename().string());
    EXPECT_EQ(queued, (std::set<std::string>{"changed.txt", "damaged.txt", "new.html"})) << recursive;
  }
}

TEST(FetchStage, MissingDirectoryFailsToStart) {
  StageFixture fixture(fetch_descriptor(), "{directory: nowhere}");
  DirectoryTail tail;
  auto opened = tail.open({fixture.dir() / "nowhere", {".txt"}, false, 0}, fixture.dir() / "state.log");
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.message().find("nowhere does not exist"), std::string::npos);
}

}  // namespace
}  // namespace vnawire::fetch
