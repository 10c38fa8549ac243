// Sinks: SQLite upserts are idempotent and versioned; JSON Lines appends one line per record.
#include "stages/sink/sink_stages.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <fstream>

#include "tests/stages/stage_fixture.h"

namespace vnawire::sink {
namespace {

using runtime::Disposition;
using testing::make_document;
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
