// Sinks: SQLite upserts are idempotent and versioned; JSON Lines appends one line per record.
#include "stages/sink/sink_normalised.h"
#include "stages/sink/sink_sqlite_tables.h"
#include "stages/sink/sink_stages.h"

#include <sqlite3.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "daemon/replay_server.h"
#include "stages/runtime/json_dump.h"
#include "tests/stages/runner_fixture.h"
#include "tests/stages/sink/sink_records.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::sink {
namespace {

using runtime::Disposition;
using testing::expect_meeting_rows;
using testing::make_document;
using testing::meeting_record;
using testing::RunnerFixture;
using testing::StageFixture;

struct Row {
  int count = 0;
  std::string title;
  int version = 0;
};

Row query(const std::filesystem::path& db_path, const std::string& id) {
  sqlite3* db = nullptr;
  Row row;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM documents), title, version FROM documents WHERE id = ?1", -1,
                     &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    row.count = sqlite3_column_int(stmt, 0);
    if (auto* t = sqlite3_column_text(stmt, 1)) row.title = reinterpret_cast<const char*>(t);
    row.version = sqlite3_column_int(stmt, 2);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return row;
}

std::string scalar(const std::filesystem::path& db_path, const std::string& sql);
std::string index_check(const std::filesystem::path& db_path);
// Rows of the full-text index itself (counting documents_text would count its view's rows).
constexpr const char* kIndexedRows = "SELECT count(*) FROM documents_text_docsize";

TEST(SqliteSink, UpsertIsIdempotentAndCountsVersions) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  auto doc = make_document("d1", "texte");
  doc.record["article"] = {{"title", "Premier titre"}, {"dateline", {{"place", "Hanoï"}, {"date", nullptr}}}};
  doc.record["lang"] = {{"code", "fr"}};
  ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  auto replay = doc;
  ASSERT_EQ(stage.on_message(replay).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  Row row = query(fixture.dir() / "out.db", "d1");
  EXPECT_EQ(row.count, 1);
  EXPECT_EQ(row.title, "Premier titre");
  EXPECT_EQ(row.version, 1) << "a replay of the same record is not a new version";

  doc.record["article"]["title"] = "Titre corrigé";
  ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  row = query(fixture.dir() / "out.db", "d1");
  EXPECT_EQ(row.count, 1);
  EXPECT_EQ(row.title, "Titre corrigé");
  EXPECT_EQ(row.version, 2);
}

// The record's text is stored as it came when the runner kept it (Document::received), and written whole
// otherwise; the normalised columns come from the record either way.
TEST(SqliteSink, StoresTheRecordAsItCameWhenTheRunnerKeptIt) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  auto doc = make_document("d1", "texte");
  doc.record["article"] = {{"title", "Un titre"}};
  doc.received = R"({"id":"d1", "body":"texte", "article":{"title":"Un titre"}})";
  ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  auto whole = make_document("d2", "texte");
  ASSERT_EQ(stage.on_message(whole).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(scalar(fixture.dir() / "out.db", "SELECT record FROM documents WHERE id = 'd1'"), doc.received);
  EXPECT_EQ(query(fixture.dir() / "out.db", "d1").title, "Un titre");
  EXPECT_EQ(scalar(fixture.dir() / "out.db", "SELECT record FROM documents WHERE id = 'd2'"),
            runtime::dump_json(whole.record));
}

// A pause in a fast stream does not commit a young transaction (commits are dear: fewer, larger ones); a
// pause in a slow one does, and so does a pause once the transaction is 100 ms old, and the flush.
TEST(SqliteSink, APauseInAFastStreamLeavesAYoungTransactionOpen) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  const auto visible = [&] { return std::stoi(scalar(fixture.dir() / "out.db", "SELECT count(*) FROM documents")); };
  auto slow = make_document("slow", "x");
  ASSERT_EQ(stage.on_message(slow).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.on_idle().ok());
  EXPECT_EQ(visible(), 1) << "the first document of a stream is committed at the pause after it";
  EXPECT_FALSE(stage.holding());
  const auto began = std::chrono::steady_clock::now();
  auto longest = std::chrono::steady_clock::duration::zero();
  for (int i = 0; i < 40; ++i) {
    auto doc = make_document("fast" + std::to_string(i), "x");
    const auto before = std::chrono::steady_clock::now();
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    longest = std::max(longest, std::chrono::steady_clock::now() - before);
  }
  ASSERT_TRUE(stage.on_idle().ok());
  // (Unless a loaded machine stalled on one of them, or took most of the 100 ms over them: then the stream
  // was not fast, and the pause commits, rightly.)
  if (longest < std::chrono::milliseconds(2) &&
      std::chrono::steady_clock::now() - began < std::chrono::milliseconds(50)) {
    EXPECT_EQ(visible(), 1) << "forty documents in a few milliseconds: the pause does not commit them";
    EXPECT_TRUE(stage.holding()) << "the runner must hear that the open transaction is held on purpose";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  ASSERT_TRUE(stage.on_idle().ok());
  EXPECT_EQ(visible(), 41) << "a transaction 100 ms old is committed at the next pause";
  EXPECT_FALSE(stage.holding());
  for (int i = 0; i < 3; ++i) {
    auto doc = make_document("late" + std::to_string(i), "x");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(visible(), 44) << "the flush commits whatever is open";
  // One document every 20 ms is a slow stream again, at once: each pause commits.
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto doc = make_document("slow" + std::to_string(i), "x");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    ASSERT_TRUE(stage.on_idle().ok());
    ASSERT_EQ(visible(), 45 + i) << "document " << i;
  }
}

TEST(SqliteSink, CommitsInBatchesAndAtFlush) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db, batch: 3}");
  auto& stage = fixture.start();
  for (int i = 0; i < 3; ++i) {
    auto doc = make_document("d" + std::to_string(i), "x");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  EXPECT_EQ(query(fixture.dir() / "out.db", "d0").count, 3) << "a full batch is committed at once";
  auto doc = make_document("d3", "x");
  ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(query(fixture.dir() / "out.db", "d3").count, 4);
}

// While alive, the default SQLite VFS of this process is one whose writes to WAL files fail on demand:
// a COMMIT then fails the way it does on a full or failing disk.
class FaultyWalVfs {
 public:
  FaultyWalVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "faulty-wal";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.xOpen = &open;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~FaultyWalVfs() {
    sqlite3_vfs_unregister(&vfs_);
    fail_ = false;
  }
  void fail_wal_writes(bool fail) { fail_ = fail; }

 private:
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
    bool wal;
  };
  static sqlite3_file* real(sqlite3_file* file) { return reinterpret_cast<File*>(file)->real; }
  static const sqlite3_io_methods* methods(sqlite3_file* file) { return real(file)->pMethods; }

  static int open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    File* ours = reinterpret_cast<File*>(file);
    ours->real = reinterpret_cast<sqlite3_file*>(ours + 1);
    ours->wal = (flags & SQLITE_OPEN_WAL) != 0;
    const int rc = real_->xOpen(real_, name, ours->real, flags, out_flags);
    ours->base.pMethods = ours->real->pMethods != nullptr ? &kMethods : nullptr;
    return rc;
  }
  static int write(sqlite3_file* file, const void* data, int size, sqlite3_int64 offset) {
    if (fail_ && reinterpret_cast<File*>(file)->wal) return SQLITE_IOERR_WRITE;
    return methods(file)->xWrite(real(file), data, size, offset);
  }

  static inline sqlite3_vfs* real_ = nullptr;
  static inline bool fail_ = false;
  sqlite3_vfs vfs_{};
  static constexpr sqlite3_io_methods kMethods = {
      3,
      [](sqlite3_file* f) { return methods(f)->xClose(real(f)); },
      [](sqlite3_file* f, void* d, int n, sqlite3_int64 o) { return methods(f)->xRead(real(f), d, n, o); },
      &write,
      [](sqlite3_file* f, sqlite3_int64 size) { return methods(f)->xTruncate(real(f), size); },
      [](sqlite3_file* f, int flags) { return methods(f)->xSync(real(f), flags); },
      [](sqlite3_file* f, sqlite3_int64* size) { return methods(f)->xFileSize(real(f), size); },
      [](sqlite3_file* f, int lock) { return methods(f)->xLock(real(f), lock); },
      [](sqlite3_file* f, int lock) { return methods(f)->xUnlock(real(f), lock); },
      [](sqlite3_file* f, int* out) { return methods(f)->xCheckReservedLock(real(f), out); },
      [](sqlite3_file* f, int op, void* arg) { return methods(f)->xFileControl(real(f), op, arg); },
      [](sqlite3_file* f) { return methods(f)->xSectorSize(real(f)); },
      [](sqlite3_file* f) { return methods(f)->xDeviceCharacteristics(real(f)); },
      [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
        return methods(f)->xShmMap(real(f), page, size, extend, out);
      },
      [](sqlite3_file* f, int offset, int n, int flags) { return methods(f)->xShmLock(real(f), offset, n, flags); },
      [](sqlite3_file* f) { methods(f)->xShmBarrier(real(f)); },
      [](sqlite3_file* f, int remove) { return methods(f)->xShmUnmap(real(f), remove); },
      [](sqlite3_file* f, sqlite3_int64 o, int n, void** out) { return methods(f)->xFetch(real(f), o, n, out); },
      [](sqlite3_file* f, sqlite3_int64 o, void* p) { return methods(f)->xUnfetch(real(f), o, p); },
  };
};

TEST(SqliteSink, AFailedCommitIsRolledBackAndItsRecordsAreWrittenAgain) {
  FaultyWalVfs vfs;
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  auto first = make_document("d1", "x");
  ASSERT_EQ(stage.on_message(first).disposition, Disposition::Forward);
  vfs.fail_wal_writes(true);
  const auto failed = stage.flush();
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("COMMIT failed"), std::string::npos) << failed.message();
  vfs.fail_wal_writes(false);
  const auto flushed = stage.flush();
  ASSERT_TRUE(flushed.ok()) << flushed.message();
  EXPECT_EQ(query(fixture.dir() / "out.db", "d1").count, 1) << "the rolled-back record is written again";
  auto second = make_document("d2", "y");
  ASSERT_EQ(stage.on_message(second).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(query(fixture.dir() / "out.db", "d2").count, 2);
  EXPECT_EQ(index_check(fixture.dir() / "out.db"), "");
  EXPECT_EQ(scalar(fixture.dir() / "out.db", kIndexedRows), "2")
      << "the full text of the rolled-back record is written again, once";
}

TEST(SqliteSink, ABatchCommitThatFailsLeavesNoTransactionBehindAndTheNextDocumentWritesItAgain) {
  FaultyWalVfs vfs;
  StageFixture fixture(sqlite_descriptor(), "{path: out.db, batch: 1}");
  auto& stage = fixture.start();
  vfs.fail_wal_writes(true);
  auto first = make_document("d1", "x");
  (void)stage.on_message(first);  // its batch commit fails
  vfs.fail_wal_writes(false);
  auto second = make_document("d2", "y");
  ASSERT_EQ(stage.on_message(second).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(query(fixture.dir() / "out.db", "d1").count, 2);
}

TEST(SqliteSink, AnIdleSinkHasCommittedAndHoldsNoWriteLock) {
  RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: db, type: sink_sqlite, inputs: [src], options: {path: db.sqlite}}\n",
      "flush_interval_ms: 600000");
  auto producer = fixture.producer("src", "db");
  fixture.start("db");
  testing::send_document(producer, make_document("d1", "texte"));
  ASSERT_TRUE(
      fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == 1; }, std::chrono::seconds(10)));
  // Long before the next flush, another writer gets the lock at once and sees the row.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((fixture.dir() / "db.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 0);
  EXPECT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(query(fixture.dir() / "db.sqlite", "d1").count, 1);
  EXPECT_EQ(fixture.stop(), 0);
}

TEST(JsonlSink, AppendsOneLinePerRecordAndReplicasWriteTheirOwnFile) {
  StageFixture fixture(jsonl_descriptor(), "{path: out/docs.jsonl}");
  auto& stage = fixture.start();
  for (int i = 0; i < 3; ++i) {
    auto doc = make_document("d" + std::to_string(i), "ligne\nsur deux lignes");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  std::ifstream in(fixture.dir() / "out/docs.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto record = nlohmann::json::parse(line);
    EXPECT_EQ(record["body"], "ligne\nsur deux lignes");
    ++lines;
  }
  EXPECT_EQ(lines, 3);
}

// The lines of every file of `dir` whose name starts with `prefix`, gzip-compressed or not.
struct Files {
  int plain = 0, compressed = 0, partial = 0;
  std::vector<std::string> lines;
};
Files read_files(const std::filesystem::path& dir, const std::string& prefix) {
  Files files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || name.ends_with(".keys")) continue;
    if (name.ends_with(".gz.tmp")) {
      ++files.partial;
      continue;
    }
    const bool gz = name.ends_with(".gz");
    ++(gz ? files.compressed : files.plain);
    gzFile in = gzopen(entry.path().c_str(), "rb");  // reads plain files as they are
    std::string text;
    char buffer[4096];
    int n = 0;
    while ((n = gzread(in, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
    gzclose(in);
    for (std::size_t at = 0, end = 0; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
      files.lines.push_back(text.substr(at, end - at));
    }
  }
  return files;
}

TEST(JsonlSink, RotatesBySizeIntoFilesOfTheirOwnAndLosesNoLine) {
  StageFixture fixture(jsonl_descriptor(), "{path: out/docs.jsonl, rotate_bytes: 300, fsync: rotation}");
  auto& stage = fixture.start();
  for (int i = 0; i < 12; ++i) {
    auto doc = make_document("d" + std::to_string(i), "une dépêche de quelques mots");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  const Files files = read_files(fixture.dir() / "out", "docs.jsonl");
  EXPECT_GE(files.plain, 4);
  EXPECT_EQ(files.lines.size(), 12u);
  for (const auto& entry : std::filesystem::directory_iterator(fixture.dir() / "out")) {
    if (entry.path().extension() == ".keys") continue;
    EXPECT_LE(std::filesystem::file_size(entry.path()), 300u) << entry.path();
  }
  EXPECT_EQ(fixture.counters().get("rotated"), static_cast<std::uint64_t>(files.plain - 1));
}

TEST(JsonlSink, RotatesByAgeAtAFlushAndCompressesRotatedFiles) {
  StageFixture fixture(jsonl_descriptor(), "{path: docs.jsonl, rotate_seconds: 1, gzip: true}");
  auto& stage = fixture.start();
  auto doc = make_document("d1", "une dépêche");
  ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(fixture.counters().get("rotated"), 0u) << "not a second old yet";
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(fixture.counters().get("rotated"), 1u);
  auto later = make_document("d2", "une autre dépêche");
  ASSERT_EQ(stage.on_message(later).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  fixture.start();  // a restart waits for the compression under way
  const Files files = read_files(fixture.dir(), "docs.jsonl");
  EXPECT_EQ(files.compressed, 1);
  EXPECT_EQ(files.plain, 1) << "the active file";
  ASSERT_EQ(files.lines.size(), 2u);
}

TEST(JsonlSink, AStartCompressesWhatACrashLeftUncompressed) {
  StageFixture fixture(jsonl_descriptor(), "{path: docs.jsonl, gzip: true}");
  std::ofstream(fixture.dir() / "docs.jsonl-20260101T000000Z-1") << "{\"id\":\"a\"}\n{\"id\":\"b\"}\n";
  std::ofstream(fixture.dir() / "docs.jsonl-20260101T000000Z-2.gz.tmp") << "half written";
  fixture.start();
  const Files files = read_files(fixture.dir(), "docs.jsonl-");
  EXPECT_EQ(files.compressed, 1);
  EXPECT_EQ(files.plain, 0);
  EXPECT_EQ(files.partial, 0);
  EXPECT_EQ(files.lines, (std::vector<std::string>{"{\"id\":\"a\"}", "{\"id\":\"b\"}"}));
}

TEST(JsonlSink, AFileThatCannotBeCompressedIsCountedAndLeftAsItWas) {
  StageFixture fixture(jsonl_descriptor(), "{path: docs.jsonl, gzip: true}");
  std::filesystem::create_directory(fixture.dir() / "docs.jsonl-20260101T000000Z-1");  // unreadable as a file
  fixture.start();
  EXPECT_EQ(fixture.counters().get("compress_failed"), 1u);
  EXPECT_TRUE(std::filesystem::is_directory(fixture.dir() / "docs.jsonl-20260101T000000Z-1"));
  EXPECT_FALSE(std::filesystem::exists(fixture.dir() / "docs.jsonl-20260101T000000Z-1.gz.tmp"));
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(JsonlSink, AReplayIsAcknowledgedWithoutASecondLineAcrossRestartsAndAnUpdateIsWritten) {
  StageFixture fixture(jsonl_descriptor(), "{path: out/docs.jsonl}");
  const auto file = fixture.dir() / "out/docs.jsonl";
  for (int start = 0; start < 2; ++start) {
    auto& stage = fixture.start();  // the second start is a restart: the keys come from the disk
    for (int i = 0; i < 3; ++i) {
      auto doc = make_document("d" + std::to_string(i), "corps " + std::to_string(i));
      ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    }
    ASSERT_TRUE(stage.flush().ok());
  }
  EXPECT_EQ(lines_of(file).size(), 3u);
  EXPECT_EQ(fixture.counters().get("replays_skipped"), 3u);
  auto update = make_document("d1", "corps 1, corrigé");
  ASSERT_EQ(fixture.stage().on_message(update).disposition, Disposition::Forward);
  ASSERT_TRUE(fixture.stage().flush().ok());
  EXPECT_EQ(lines_of(file).size(), 4u) << "a changed body is a new version";
}

TEST(JsonlSink, LinesWrittenButNotYetKeyedWhenTheProcessDiedAreKeyedAtStartAndACutLineIsRemoved) {
  StageFixture fixture(jsonl_descriptor(), "{path: out/docs.jsonl}");
  const auto file = fixture.dir() / "out/docs.jsonl";
  {
    auto& stage = fixture.start();
    auto doc = make_document("a", "premier");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    ASSERT_TRUE(stage.flush().ok());
  }
  // What a crash leaves: a whole line the keys file does not know yet, then half a line.
  auto unkeyed = make_document("b", "second");
  std::ofstream(file, std::ios::app) << unkeyed.record.dump() << "\n"
                                     << R"({"id":"c","bo)";
  auto& stage = fixture.start();
  EXPECT_EQ(fixture.counters().get("damaged_set_aside"), 1u);
  EXPECT_EQ(lines_of(file).size(), 2u) << "the cut line is gone";
  for (const auto& [id, body] : {std::pair{"a", "premier"}, std::pair{"b", "second"}, std::pair{"c", "troisième"}}) {
    auto doc = make_document(id, body);
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  const auto lines = lines_of(file);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[2])["id"], "c");
  EXPECT_EQ(fixture.counters().get("replays_skipped"), 2u);
}

TEST(JsonlSink, ADamagedKeysFileIsSetAsideAndTheSinkGoesOn) {
  StageFixture fixture(jsonl_descriptor(), "{path: out/docs.jsonl, rotate_bytes: 200}");
  const auto keys = fixture.dir() / "out/docs.jsonl.keys";
  {
    auto& stage = fixture.start();
    for (int i = 0; i < 6; ++i) {
      auto doc = make_document("d" + std::to_string(i), "une dépêche de quelques mots");
      ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    }
    ASSERT_TRUE(stage.flush().ok());
  }
  ASSERT_GT(std::filesystem::file_size(keys), 64u);
  {
    std::fstream damage(keys, std::ios::in | std::ios::out | std::ios::binary);
    damage.seekp(40);  // inside the second entry
    damage.put('\x5a');
  }
  auto& stage = fixture.start();
  EXPECT_EQ(fixture.counters().get("damaged_set_aside"), 1u);
  auto first = make_document("d0", "une dépêche de quelques mots");
  EXPECT_EQ(stage.on_message(first).disposition, Disposition::Forward);
  EXPECT_EQ(fixture.counters().get("replays_skipped"), 1u) << "the entry before the damage is kept";
  ASSERT_TRUE(stage.flush().ok());
  fixture.start();  // the set-aside part is gone for good: the file reads cleanly now
  EXPECT_EQ(fixture.counters().get("damaged_set_aside"), 1u);
}

TEST(JsonlSink, AnUnknownFsyncPolicyIsAConfigErrorNamingTheKey) {
  std::vector<runtime::ConfigError> errors;
  runtime::bind_options(YAML::Load("{fsync: true}"), jsonl_descriptor().options, "pipeline.yaml", "options", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].to_string().find("fsync"), std::string::npos) << errors[0].to_string();
}

// A receiver on loopback: the replay server's POST /inbox, with its fault injection.
class Receiver {
 public:
  explicit Receiver(std::vector<std::string> faults = {}) {
    char pattern[] = "/tmp/vnawire-inbox-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    replay::ReplaySettings settings;
    settings.directory = dir_;
    for (const std::string& fault : faults) settings.faults.push_back(*replay::parse_fault(fault));
    server_ = std::make_unique<replay::ReplayServer>(settings);
    const runtime::Status started = server_->start();
    EXPECT_TRUE(started.ok()) << started.message();
  }
  ~Receiver() {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string url() const { return server_->base_url() + "/inbox"; }
  std::vector<replay::Posted> posted() const { return server_->inbox(); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<replay::ReplayServer> server_;
};

TEST(WebhookSink, PostsBatchesWithTheBearerTokenAndSendsWhatIsLeftWhenIdle) {
  Receiver receiver;
  StageFixture fixture(webhook_descriptor(), "{url: " + receiver.url() + ", batch_size: 2, bearer_token_file: token}");
  std::ofstream(fixture.dir() / "token") << "s3cret\n";
  auto& stage = fixture.start();
  for (int i = 0; i < 5; ++i) {
    auto doc = make_document("d" + std::to_string(i), "une dépêche");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  EXPECT_EQ(receiver.posted().size(), 2u) << "two full batches";
  ASSERT_TRUE(stage.on_idle().ok());
  const auto posted = receiver.posted();
  ASSERT_EQ(posted.size(), 3u);
  std::vector<std::string> ids;
  for (const auto& post : posted) {
    EXPECT_EQ(post.content_type, "application/json");
    EXPECT_EQ(post.authorization, "Bearer s3cret");
    for (const auto& record : nlohmann::json::parse(post.body)) ids.push_back(record["id"]);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"d0", "d1", "d2", "d3", "d4"}));
  EXPECT_EQ(fixture.counters().get("posted"), 5u);
}

TEST(WebhookSink, AReplayOfADeliveredRecordIsNotPostedAgainAndEachPostCarriesAnIdempotencyKey) {
  Receiver receiver;
  StageFixture fixture(webhook_descriptor(), "{url: " + receiver.url() + ", batch_size: 2}");
  for (int start = 0; start < 2; ++start) {
    auto& stage = fixture.start();  // the second start is a restart: the keys come from the disk
    for (int i = 0; i < 2; ++i) {
      auto doc = make_document("d" + std::to_string(i), "une dépêche");
      ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    }
    ASSERT_TRUE(stage.on_idle().ok());
  }
  auto update = make_document("d1", "une dépêche corrigée");
  ASSERT_EQ(fixture.stage().on_message(update).disposition, Disposition::Forward);
  auto again = make_document("d1", "une dépêche corrigée");
  ASSERT_EQ(fixture.stage().on_message(again).disposition, Disposition::Forward);
  ASSERT_TRUE(fixture.stage().on_idle().ok());
  const auto posted = receiver.posted();
  ASSERT_EQ(posted.size(), 2u) << "the replayed batch is not posted; the update is, once";
  EXPECT_EQ(nlohmann::json::parse(posted[1].body).size(), 1u);
  EXPECT_EQ(fixture.counters().get("replays_skipped"), 3u);
  EXPECT_EQ(posted[0].idempotency_key.size(), 16u);
  EXPECT_NE(posted[0].idempotency_key, posted[1].idempotency_key);
}

TEST(WebhookSink, AFailingReceiverGetsTheBatchAgainOnceItRecoversAndNothingIsLost) {
  Receiver receiver({"status=503@/inbox*2"});
  StageFixture fixture(webhook_descriptor(), "{url: " + receiver.url() + ", batch_size: 1, format: ndjson}");
  auto& stage = fixture.start();
  auto first = make_document("a", "une dépêche");
  EXPECT_EQ(stage.on_message(first).disposition, Disposition::Forward) << "kept, to be sent again";
  auto second = make_document("b", "une autre dépêche");
  EXPECT_EQ(stage.on_message(second).disposition, Disposition::Retry) << "no new record while the batch waits";
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_FALSE(stage.on_idle().ok()) << "the second 503";
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_TRUE(stage.on_idle().ok());
  EXPECT_EQ(stage.on_message(second).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  const auto posted = receiver.posted();
  ASSERT_EQ(posted.size(), 2u);
  EXPECT_EQ(posted[0].content_type, "application/x-ndjson");
  EXPECT_EQ(nlohmann::json::parse(posted[0].body)["id"], "a");
  EXPECT_EQ(nlohmann::json::parse(posted[1].body)["id"], "b");
  EXPECT_EQ(fixture.counters().get("post_failed"), 2u);
}

TEST(WebhookSink, ARefusedBatchIsDeadLetteredWithTheReceiversAnswer) {
  Receiver receiver({"status=400@/inbox*1"});
  StageFixture fixture(webhook_descriptor(), "{url: " + receiver.url() + ", batch_size: 2}");
  auto& stage = fixture.start();
  for (const char* id : {"x", "y", "z"}) {
    auto doc = make_document(id, "une dépêche");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  ASSERT_EQ(fixture.dead_letters.size(), 2u);
  EXPECT_NE(fixture.dead_letters[0].find("x: the webhook refused the batch: HTTP 400"), std::string::npos)
      << fixture.dead_letters[0];
  ASSERT_EQ(receiver.posted().size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(receiver.posted()[0].body)[0]["id"], "z");
}

TEST(WebhookSink, AMissingTokenFileOrABadUrlStopsTheStart) {
  StageFixture no_token(webhook_descriptor(), "{url: http://127.0.0.1:9/inbox, bearer_token_file: missing}");
  const runtime::Status missing = no_token.try_start();
  EXPECT_NE(missing.message().find("bearer_token_file"), std::string::npos) << missing.message();
  StageFixture bad_url(webhook_descriptor(), "{url: ftp://example/inbox}");
  EXPECT_FALSE(bad_url.try_start().ok());
}

std::string exec_options(const std::vector<std::string>& command, const std::string& extra = "") {
  nlohmann::json list = command;
  return "{command: " + list.dump() + (extra.empty() ? "" : ", " + extra) + "}";
}

TEST(ExecSink, TheShellExampleStoresEachRecordOnceAndAReplayRewritesIt) {
  char pattern[] = "/tmp/vnawire-exec-XXXXXX";
  const std::filesystem::path out = std::filesystem::path(::mkdtemp(pattern)) / "records";
  StageFixture stage_fixture(exec_descriptor(),
                             exec_options({VNAWIRE_SOURCE_DIR "/examples/sinks/shell/store.sh", out.string()}));
  auto& stage = stage_fixture.start();
  for (const char* id : {"a", "b", "c", "a"}) {
    auto doc = make_document(id, std::string("texte de ") + id);
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward) << id;
  }
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(nlohmann::json::parse(line)["id"].get<std::string>() + ".json", entry.path().filename().string());
  }
  EXPECT_EQ(files, 3);
  EXPECT_EQ(stage_fixture.counters().get("stored"), 4u);
  auto nameless = make_document("", "sans identifiant");
  EXPECT_EQ(stage.on_message(nameless).disposition, Disposition::DeadLetter);
  std::filesystem::remove_all(out.parent_path());
}

TEST(ExecSink, InZmqModeItIsNoVnawireStageProcess) {
  StageFixture stage_fixture(exec_descriptor(), exec_options({"store.py"}, "mode: zmq"));
  const runtime::Status started = stage_fixture.try_start();
  EXPECT_NE(started.message().find("in zmq mode the daemon runs the program itself"), std::string::npos)
      << started.message();
}

TEST(ExecSink, AProgramThatDiesIsStartedAgainAndTheRecordRetried) {
  // Answers one record, then exits.
  StageFixture fixture(exec_descriptor(),
                       exec_options({"sh", "-c", "read -r line; echo \"ok $(printf '%s' \"$line\" | jq -r .id)\""}));
  auto& stage = fixture.start();
  auto first = make_document("a", "un");
  EXPECT_EQ(stage.on_message(first).disposition, Disposition::Forward);
  auto second = make_document("b", "deux");
  const runtime::Verdict lost = stage.on_message(second);
  EXPECT_EQ(lost.disposition, Disposition::Retry);
  EXPECT_NE(lost.reason.find("the program sh"), std::string::npos) << lost.reason;
  EXPECT_EQ(stage.on_message(second).disposition, Disposition::Forward) << "the program was started again";
  EXPECT_EQ(fixture.counters().get("program_started"), 2u);
}

TEST(ExecSink, AnErrorAnswerDeadLettersWithTheReasonAndASilentProgramTimesOut) {
  StageFixture refusing(exec_descriptor(),
                        exec_options({"sh", "-c",
                                      "while read -r line; do echo \"error $(printf '%s' \"$line\" | jq -r .id) disk "
                                      "full\"; done"}));
  auto& stage = refusing.start();
  auto doc = make_document("x", "texte");
  const runtime::Verdict verdict = stage.on_message(doc);
  EXPECT_EQ(verdict.disposition, Disposition::DeadLetter);
  EXPECT_EQ(verdict.reason, "the program refused it: disk full");
  StageFixture silent(exec_descriptor(), exec_options({"sleep", "30"}, "answer_timeout_ms: 100, stop_timeout_ms: 50"));
  auto& quiet = silent.start();
  const auto started = std::chrono::steady_clock::now();
  const runtime::Verdict timed_out = quiet.on_message(doc);
  EXPECT_EQ(timed_out.disposition, Disposition::Retry);
  EXPECT_NE(timed_out.reason.find("no answer"), std::string::npos) << timed_out.reason;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10)) << "sleep was killed";
}

// The first column of the first row of `sql` on the database, as text ("" when none).
std::string scalar(const std::filesystem::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db) << ": " << sql;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

TEST(SqliteSink, PersonsEventsQuotesAndFullTextHaveTablesAReplayLeavesThemAsTheyAre) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  for (int i = 0; i < 2; ++i) {  // the second time, a replay
    auto doc = meeting_record("d1");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    ASSERT_TRUE(stage.flush().ok());
  }
  const auto db = fixture.dir() / "out.db";
  EXPECT_EQ(scalar(db, "PRAGMA user_version"), std::to_string(kSqliteSchemaVersion));
  EXPECT_EQ(scalar(db, "SELECT v FROM documents_text_config WHERE k = 'automerge'"), "8");
  expect_meeting_rows([&](const std::string& sql) { return scalar(db, sql); });
  EXPECT_EQ(scalar(db, "SELECT group_concat(country) FROM (SELECT country FROM document_countries ORDER BY 1)"),
            "RU,VN");
  // Accents are ignored: "energie" finds "énergie".
  EXPECT_EQ(scalar(db,
                   "SELECT d.id FROM documents_text t JOIN documents d ON d.rowid = t.rowid "
                   "WHERE documents_text MATCH 'energie'"),
            "d1");
  // An update that drops a person and the event leaves none of their rows behind.
  auto update = testing::meeting_update("d1");
  ASSERT_EQ(stage.on_message(update).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  testing::expect_meeting_update_rows([&](const std::string& sql) { return scalar(db, sql); });
  EXPECT_EQ(scalar(db, kIndexedRows), "1");
  EXPECT_EQ(index_check(db), "");
  // The same within one transaction: a document first stored and then updated before the commit.
  auto first = meeting_record("d2");
  auto second = testing::meeting_update("d2");
  ASSERT_EQ(stage.on_message(first).disposition, Disposition::Forward);
  ASSERT_EQ(stage.on_message(second).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM document_persons WHERE document_id = 'd2'"), "1");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM events WHERE document_id = 'd2'"), "0");
  EXPECT_EQ(index_check(db), "");
}

// The full-text rows wait for the commit (FTS5 would otherwise write an index segment per document): a
// document written twice in one transaction is indexed once, with its last text.
TEST(SqliteSink, TheFullTextOfABatchIsWrittenAtItsCommitWithEachDocumentsLastText) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  auto first = make_document("a", "riziculture dans le delta");
  auto other = make_document("b", "festival de musique");
  auto corrected = make_document("a", "aquaculture dans le delta");
  for (auto* doc : {&first, &other, &corrected}) ASSERT_EQ(stage.on_message(*doc).disposition, Disposition::Forward);
  const auto db = fixture.dir() / "out.db";
  const auto match = [&](const std::string& word) {
    return scalar(db,
                  "SELECT group_concat(id) FROM (SELECT d.id FROM documents_text t JOIN documents d ON d.rowid = t.rowid "
                  "WHERE documents_text MATCH '" +
                      word + "' ORDER BY 1)");
  };
  EXPECT_EQ(scalar(db, kIndexedRows), "0") << "nothing is visible before the commit";
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(scalar(db, kIndexedRows), "2");
  EXPECT_EQ(index_check(db), "");
  EXPECT_EQ(match("aquaculture"), "a");
  EXPECT_EQ(match("riziculture"), "") << "the first text of a was replaced within the transaction";
  EXPECT_EQ(match("delta"), "a");
  EXPECT_EQ(match("festival"), "b");
  // In the next transaction the same document replaces its indexed text too.
  auto again = make_document("a", "pisciculture");
  ASSERT_EQ(stage.on_message(again).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(match("pisciculture"), "a");
  EXPECT_EQ(match("delta"), "");
  EXPECT_EQ(scalar(db, kIndexedRows), "2");
  EXPECT_EQ(index_check(db), "");
}

// "" when the full-text index holds exactly the tokens of the texts documents_text_source reads out of the
// records (FTS5's integrity-check with rank 1 compares the two), else SQLite's message.
std::string index_check(const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  std::string why;
  if (sqlite3_exec(db, "INSERT INTO documents_text (documents_text, rank) VALUES ('integrity-check', 1)", nullptr,
                   nullptr, &message) != SQLITE_OK) {
    why = message != nullptr ? message : "failed";
  }
  sqlite3_free(message);
  sqlite3_close(db);
  return why;
}

// Records of every shape the texts are read from: extracted, raw only, and odd ones.
std::vector<runtime::Document> text_shapes() {
  std::vector<runtime::Document> docs;
  docs.push_back(meeting_record("meeting"));
  docs.push_back(make_document("raw", "un texte brut que rien n'a extrait"));
  auto odd = make_document("odd", "le texte brut n'est pas lu");
  odd.record["article"] = {{"title", 12}, {"body", {"", "un paragraphe après un vide", 7, "", "le dernier"}}};
  docs.push_back(odd);
  auto null_article = make_document("null-article", "ni ceci");
  null_article.record["article"] = nullptr;
  docs.push_back(null_article);
  // U+0000 in a text: the view (json_extract) ends a string there, and so does normalise().
  using namespace std::string_literals;
  auto nul = make_document("nul", "brut\0jamais lu"s);
  nul.record["article"] = {{"title", "un titre\0coupé"s}, {"body", {"un début\0puis rien"s, "la suite"}}};
  docs.push_back(nul);
  auto string_body = make_document("string-body", "ni cela");
  string_body.record["article"] = {{"lead", "un chapeau seul"}, {"body", "un corps qui n'est pas une liste"}};
  docs.push_back(string_body);
  return docs;
}

// The index keeps no copy of the texts (schema 3): it reads them from the records, through a view that
// must agree with normalise() to the byte, and every replacement takes the old texts out.
TEST(SqliteSink, TheFullTextIndexReadsItsTextsFromTheRecordsAndStaysInStepThroughReplacements) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  const auto db = fixture.dir() / "out.db";
  for (auto& doc : text_shapes()) ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(index_check(db), "");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'documents_text_content'"), "0");
  for (const auto& doc : text_shapes()) {
    const NormalisedRows rows = normalise(doc.record);
    const std::string where =
        " FROM documents_text t JOIN documents d ON d.rowid = t.rowid WHERE d.id = '" + doc.header.id + "'";
    EXPECT_EQ(scalar(db, "SELECT t.title IS NULL" + where), rows.title ? "0" : "1") << doc.header.id;
    EXPECT_EQ(scalar(db, "SELECT t.title" + where), rows.title.value_or("")) << doc.header.id;
    EXPECT_EQ(scalar(db, "SELECT t.lead" + where), rows.lead.value_or("")) << doc.header.id;
    EXPECT_EQ(scalar(db, "SELECT t.body" + where), rows.body) << doc.header.id;
  }
  EXPECT_EQ(scalar(db,
                   "SELECT snippet(documents_text, 2, '[', ']', '...', 4) FROM documents_text "
                   "WHERE documents_text MATCH 'paragraphe'"),
            "\nun [paragraphe] après un...")
      << "the body starts with its empty first paragraph";
  // Replaced in the next transaction, twice in one, then first stored and replaced in one.
  const auto match = [&](const std::string& words) {
    return scalar(db,
                  "SELECT group_concat(id) FROM (SELECT d.id FROM documents_text t JOIN documents d ON d.rowid = "
                  "t.rowid WHERE documents_text MATCH '" +
                      words + "' ORDER BY 1)");
  };
  auto raw = make_document("raw", "une version corrigée");
  auto odd = make_document("odd", "premier essai");
  auto odd_again = make_document("odd", "second essai");
  auto fresh = make_document("fresh", "à peine écrit");
  auto fresh_again = make_document("fresh", "aussitôt corrigé");
  for (auto* doc : {&raw, &odd, &odd_again, &fresh, &fresh_again}) {
    ASSERT_EQ(stage.on_message(*doc).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(index_check(db), "");
  EXPECT_EQ(match("corrig*"), "fresh,raw");
  EXPECT_EQ(match("extrait OR paragraphe OR premier OR peine"), "");
  EXPECT_EQ(match("essai"), "odd");
  // A replay changes nothing.
  auto replay = make_document("raw", "une version corrigée");
  ASSERT_EQ(stage.on_message(replay).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(index_check(db), "");
  EXPECT_EQ(scalar(db, kIndexedRows), "7");
  // FTS5's own rebuild from the view gives the same index.
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &writer), SQLITE_OK);
  EXPECT_EQ(
      sqlite3_exec(writer, "INSERT INTO documents_text (documents_text) VALUES ('rebuild')", nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(writer);
  EXPECT_EQ(match("essai"), "odd");
  // After the rebuild the sink still takes out what it replaces.
  auto after_rebuild = make_document("odd", "troisième essai");
  ASSERT_EQ(stage.on_message(after_rebuild).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(index_check(db), "");
  EXPECT_EQ(match("second"), "");
  // The check bites: a record edited behind the index's back no longer matches it.
  ASSERT_EQ(
      sqlite3_exec(writer, "UPDATE documents SET record = json_set(record, '$.body', 'autre chose') WHERE id = 'raw'",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(writer);
  EXPECT_NE(index_check(db), "");
}

// A document one of whose rows the database refuses is dead-lettered and leaves nothing behind: its
// earlier version stays whole (row, normalised rows, full text), and the transaction's other documents
// are stored.
TEST(SqliteSink, ADocumentRefusedHalfWayLeavesNoPartOfItAndTheRestOfTheBatchIsStored) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  const auto db = fixture.dir() / "out.db";
  auto first = meeting_record("m");
  ASSERT_EQ(stage.on_message(first).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  {
    sqlite3* writer = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &writer), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(writer,
                           "CREATE TRIGGER refuse BEFORE INSERT ON quotes WHEN NEW.text = 'Refusé.' "
                           "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(writer);
  }
  auto before = make_document("b", "avant le refus");
  auto refused = meeting_record("m");
  refused.record["article"]["title"] = "Titre jamais vu";
  refused.record["article"]["body"] = {"Un texte jamais indexé."};
  refused.record["entities"]["persons"].erase(1);
  refused.record["quotes"] = {{{"speaker", "M. Binh"}, {"text", "Refusé."}}};
  auto after = make_document("c", "après le refus");
  ASSERT_EQ(stage.on_message(before).disposition, Disposition::Forward);
  const runtime::Verdict verdict = stage.on_message(refused);
  EXPECT_EQ(verdict.disposition, Disposition::DeadLetter);
  EXPECT_NE(verdict.reason.find("refused by a trigger"), std::string::npos) << verdict.reason;
  ASSERT_EQ(stage.on_message(after).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  const Row m = query(db, "m");
  EXPECT_EQ(m.count, 3);
  EXPECT_EQ(m.title, "Entretien à Hanoï");
  EXPECT_EQ(m.version, 1);
  expect_meeting_rows([&](const std::string& sql) { return scalar(db, sql); });
  EXPECT_EQ(index_check(db), "");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM documents_text WHERE documents_text MATCH 'jamais'"), "0");
  EXPECT_EQ(scalar(db,
                   "SELECT d.id FROM documents_text t JOIN documents d ON d.rowid = t.rowid "
                   "WHERE documents_text MATCH 'energie'"),
            "m");
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM documents_text WHERE documents_text MATCH 'refus'"), "2");
}

// SQLite's temporary files ("etilqs_…", unlinked as soon as opened) this process holds open.
int open_temporary_files() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.filename().string().starts_with("etilqs_")) ++count;
  }
  return count;
}

// What a document's savepoint must be able to undo (the earlier content of each page it changes) stays in
// memory: in a file (SQLite's default past 64 KB) it cost a write system call per page, more than the WAL's,
// and a tenth of the sink's CPU in the pipeline benchmark.
TEST(SqliteSink, WhatADocumentsSavepointCanUndoIsKeptInMemoryNotInATemporaryFile) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db, batch: 100000}");
  auto& stage = fixture.start();
  const auto persons = [](int doc, int count) {
    nlohmann::json list = nlohmann::json::array();
    for (int i = 0; i < count; ++i) {
      // Keys spread over the table, as names are: each person lands on a page of its own.
      const std::string key = std::to_string((doc * 7919 + i * 104729) % 1000003) + " personne " + std::to_string(i);
      list.push_back({{"name", key}, {"key", key}, {"country", "VN"}, {"roles", {"ministre"}}});
    }
    return list;
  };
  for (int d = 0; d < 150; ++d) {
    auto doc = make_document("p" + std::to_string(d), "texte");
    doc.record["entities"] = {{"persons", persons(d, 40)}};
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  auto doc = make_document("last", "texte");
  doc.record["entities"] = {{"persons", persons(150, 60)}};
  ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  EXPECT_EQ(open_temporary_files(), 0);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(scalar(fixture.dir() / "out.db", "SELECT count(*) FROM persons"), std::to_string(150 * 40 + 60));
}

// A replaced version's pages are freed without being written out as zeros (Debian's SQLite would, by
// default): replacing a long record with a short one writes a few pages, not one per freed page.
TEST(SqliteSink, ReplacingALongRecordDoesNotWriteItsFreedPagesAgain) {
  StageFixture fixture(sqlite_descriptor(), "{path: out.db}");
  auto& stage = fixture.start();
  const auto db = fixture.dir() / "out.db";
  std::string body;
  while (body.size() < 400'000) body += "Une phrase longue de plus pour remplir des pages. ";
  auto doc = make_document("long", body);
  ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  const auto wal = std::filesystem::path(db.string() + "-wal");
  {
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(other);
  }
  ASSERT_EQ(std::filesystem::file_size(wal), 0u);
  auto shorter = make_document("long", "Plus court.");
  ASSERT_EQ(stage.on_message(shorter).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  // About 100 pages of 4 KB were freed (secure_delete=ON wrote each again); a few pages of b-tree and
  // index changed. A WAL is a 32-byte header and frames of a 24-byte header and a page.
  const auto page_size = std::stoull(scalar(db, "PRAGMA page_size"));
  EXPECT_LT((std::filesystem::file_size(wal) - 32) / (page_size + 24), 20u);
  EXPECT_EQ(query(db, "long").version, 2);
}

// A file as an earlier sink left it: its documents table holding `docs` (rowids 1, 2, ...), as version 1
// wrote it; with `v2_index`, also version 2's full-text table (a copy of each text) holding their texts and
// user_version 2.
void write_old_file(const std::filesystem::path& path, const std::vector<runtime::Document>& docs, bool v2_index) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string schema =
      std::string(kSqliteSchema) + (v2_index ? "CREATE VIRTUAL TABLE documents_text USING fts5(title, lead, body, "
                                               "tokenize = 'unicode61 remove_diacritics 2');"
                                               "PRAGMA user_version = 2;"
                                             : "");
  ASSERT_EQ(sqlite3_exec(db, schema.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "INSERT INTO documents (rowid, id, record, first_stored_at, stored_at) "
                               "VALUES (?1, ?2, ?3, 'then', 'then')",
                               -1, &insert, nullptr),
            SQLITE_OK);
  sqlite3_stmt* text = nullptr;
  if (v2_index) {
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO documents_text (rowid, title, lead, body) VALUES (?1, ?2, ?3, ?4)",
                                 -1, &text, nullptr),
              SQLITE_OK);
  }
  ASSERT_EQ(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
  int rowid = 0;
  for (const auto& doc : docs) {
    ++rowid;
    const std::string record = doc.record.dump();
    sqlite3_bind_int(insert, 1, rowid);
    sqlite3_bind_text(insert, 2, doc.header.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 3, record.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(insert), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_reset(insert);
    if (!v2_index) continue;
    const NormalisedRows rows = normalise(doc.record);
    sqlite3_bind_int(text, 1, rowid);
    sqlite3_bind_text(text, 2, rows.title ? rows.title->c_str() : nullptr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(text, 3, rows.lead ? rows.lead->c_str() : nullptr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(text, 4, rows.body.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(text), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_reset(text);
  }
  EXPECT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_finalize(insert);
  sqlite3_finalize(text);
  sqlite3_close(db);
}

TEST(SqliteSink, AFirstVersionDatabaseIsMigratedAndItsRecordsFillTheNewTables) {
  StageFixture fixture(sqlite_descriptor(), "{path: old.db}");
  const auto path = fixture.dir() / "old.db";
  ASSERT_NO_FATAL_FAILURE(write_old_file(path, {meeting_record("old")}, /*v2_index=*/false));
  fixture.start();
  EXPECT_EQ(scalar(path, "PRAGMA user_version"), std::to_string(kSqliteSchemaVersion));
  EXPECT_EQ(scalar(path, "SELECT group_concat(person_key) FROM document_persons WHERE document_id = 'old'"),
            "oleg ivanov,tran van binh");
  EXPECT_EQ(scalar(path, "SELECT count(*) FROM documents_text WHERE documents_text MATCH 'cooperation OR energie'"),
            "1");
  EXPECT_EQ(index_check(path), "");
}

// Version 2's index kept a copy of every text: it is made again, from the records, without one.
TEST(SqliteSink, ASecondVersionDatabaseIsMigratedToAnIndexThatKeepsNoCopyOfTheTexts) {
  StageFixture fixture(sqlite_descriptor(), "{path: v2.db}");
  const auto path = fixture.dir() / "v2.db";
  // As version 2 wrote it (the normalised tables are left out: they do not change).
  ASSERT_NO_FATAL_FAILURE(write_old_file(path, text_shapes(), /*v2_index=*/true));
  ASSERT_EQ(scalar(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'documents_text_content'"), "1");
  auto& stage = fixture.start();
  EXPECT_EQ(scalar(path, "PRAGMA user_version"), std::to_string(kSqliteSchemaVersion));
  EXPECT_EQ(scalar(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'documents_text_content'"), "0");
  EXPECT_EQ(index_check(path), "");
  EXPECT_EQ(scalar(path, "SELECT count(*) FROM documents_text WHERE documents_text MATCH 'energie OR brut OR vide'"),
            "3");
  // And a document the migration indexed is replaced as any other.
  auto update = make_document("meeting", "plus rien de la rencontre");
  ASSERT_EQ(stage.on_message(update).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(index_check(path), "");
  EXPECT_EQ(scalar(path, "SELECT count(*) FROM documents_text WHERE documents_text MATCH 'energie'"), "0");
}

// Dropping version 2's index frees all its pages. Under Debian's secure_delete=ON each was written out as
// zeros and journaled, in memory with the sink's temp_store=MEMORY: as much memory as the index, gigabytes
// for a large file. The sink sets secure_delete=FAST before the migration and temp_store=MEMORY after it
// (either alone keeps this test's peak under a third of the index): the migration's memory stays that of a
// batch of texts however large the old index.
TEST(SqliteSink, MigratingALargeSecondVersionIndexTakesNoMoreMemoryThanABatchOfTexts) {
  StageFixture fixture(sqlite_descriptor(), "{path: v2.db}");
  const auto path = fixture.dir() / "v2.db";
  std::vector<runtime::Document> docs;
  for (int d = 0; d < 2000; ++d) {
    std::string body;
    // 400 words of this document alone: the old index holds a copy of each text and a posting per word.
    for (int w = 0; w < 400; ++w) body += "mot" + std::to_string(d * 400 + w) + (w % 20 == 19 ? ".\n" : " ");
    docs.push_back(make_document("d" + std::to_string(d), body));
  }
  ASSERT_NO_FATAL_FAILURE(write_old_file(path, docs, /*v2_index=*/true));
  const auto old_index_bytes = std::stoll(scalar(
      path,
      "SELECT (SELECT page_size FROM pragma_page_size) * count(*) FROM dbstat WHERE name LIKE 'documents_text%'"));
  ASSERT_GT(old_index_bytes, 12 << 20);
  sqlite3_memory_highwater(/*resetFlag=*/1);
  const sqlite3_int64 before = sqlite3_memory_used();
  fixture.start();
  const sqlite3_int64 peak = sqlite3_memory_highwater(/*resetFlag=*/0) - before;
  ASSERT_GT(peak, 0) << "SQLite counts no memory here (SQLITE_DEFAULT_MEMSTATUS=0)";
  EXPECT_LT(peak, old_index_bytes / 2) << "old index " << old_index_bytes << " bytes";
  EXPECT_EQ(scalar(path, "PRAGMA user_version"), std::to_string(kSqliteSchemaVersion));
  EXPECT_EQ(scalar(path, "SELECT count(*) FROM documents_text WHERE documents_text MATCH 'mot799999'"), "1");
}

// A replica that finds an old version, then waits for the write lock while another writer moves the file on
// (here to a later version), reads the version again under the lock and acts on what it finds then: it does
// not migrate the file from the version it first read, which would set the other writer's version back.
TEST(SqliteSink, AMigrationThatWaitedForTheLockReadsTheVersionAgain) {
  StageFixture fixture(sqlite_descriptor(), "{path: v2.db, busy_timeout_ms: 20000}");
  const auto path = fixture.dir() / "v2.db";
  ASSERT_NO_FATAL_FAILURE(write_old_file(path, text_shapes(), /*v2_index=*/true));
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  // In WAL mode, so that the sink reads version 2 while the other writer holds the lock.
  ASSERT_EQ(sqlite3_exec(other, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  runtime::Status started;
  std::thread sink([&] { started = fixture.try_start(); });
  // The sink reads version 2 and waits for BEGIN IMMEDIATE meanwhile (its busy timeout is 20 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(sqlite3_exec(other, "PRAGMA user_version = 99; COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sink.join();
  sqlite3_close(other);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("schema version 99"), std::string::npos) << started.message();
  EXPECT_EQ(scalar(path, "PRAGMA user_version"), "99");
  EXPECT_EQ(scalar(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'documents_text_content'"), "1")
      << "version 2's index is left as it was";
}

TEST(SqliteSink, ADatabaseOfALaterVersionIsRefusedWithAClearMessage) {
  StageFixture fixture(sqlite_descriptor(), "{path: later.db}");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((fixture.dir() / "later.db").c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  const runtime::Status started = fixture.try_start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("schema version 99"), std::string::npos) << started.message();
  EXPECT_NE(started.message().find("later.db"), std::string::npos) << started.message();
}

}  // namespace
}  // namespace vnawire::sink
