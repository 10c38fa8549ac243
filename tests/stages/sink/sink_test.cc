// Sinks: SQLite upserts are idempotent and versioned; JSON Lines appends one line per record.
#include "stages/sink/sink_stages.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <fstream>

#include "tests/stages/runner_fixture.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::sink {
namespace {

using runtime::Disposition;
using testing::make_document;
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

}  // namespace
}  // namespace vnawire::sink
