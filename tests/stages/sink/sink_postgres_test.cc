// The PostgreSQL sink against a real server: a private cluster started by the test (tests/support/pg_cluster.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <pqxx/pqxx>
#include <thread>

#include "stages/sink/sink_postgres_tables.h"
#include "stages/sink/sink_stages.h"
#include "tests/stages/runner_fixture.h"
#include "tests/stages/sink/sink_records.h"
#include "tests/stages/stage_fixture.h"
#include "tests/support/pg_cluster.h"

namespace vnawire::sink {
namespace {

using runtime::Disposition;
using testing::make_document;
using testing::meeting_record;
using testing::PgCluster;
using testing::StageFixture;

// One cluster per test process (ctest runs each test in its own); each test writes to its own schema.
class PostgresSink : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = new PgCluster(); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (!cluster_->running()) {
      if (cluster_->binaries_missing() && std::getenv("CI") == nullptr) GTEST_SKIP() << cluster_->error();
      FAIL() << cluster_->error();
    }
    schema_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : schema_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  PgCluster& cluster() { return *cluster_; }
  // The stage's options: the cluster's connection string, this test's schema, and `more`.
  std::string options(const std::string& more = "") const {
    return "{dsn: '" + cluster_->dsn() + "', schema: " + schema_ + ", reconnect_min_ms: 20, reconnect_max_ms: 200" +
           (more.empty() ? "" : ", " + more) + "}";
  }
  // The first column of the first row of `sql` in this test's schema, as text ("" for none or NULL).
  std::string scalar(const std::string& sql) const {
    pqxx::connection connection(cluster_->dsn());
    pqxx::work tx(connection);
    tx.exec("SET search_path TO " + schema_);
    const pqxx::result result = tx.exec(sql);
    tx.commit();
    return result.empty() || result[0][0].is_null() ? "" : result[0][0].c_str();
  }
  static inline PgCluster* cluster_ = nullptr;
  std::string schema_;
};

TEST_F(PostgresSink, WritesTheSqliteTablesAndAReplayLeavesThemAsTheyAre) {
  StageFixture fixture(postgres_descriptor(), options());
  auto& stage = fixture.start();
  for (int i = 0; i < 2; ++i) {  // the second time, a replay
    auto doc = meeting_record("d1");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    ASSERT_TRUE(stage.flush().ok());
  }
  EXPECT_EQ(scalar("SELECT version FROM vnawire_schema"), std::to_string(kPostgresSchemaVersion));
  EXPECT_EQ(scalar("SELECT title || ' ' || version FROM documents WHERE id = 'd1'"), "Entretien à Hanoï 1");
  testing::expect_meeting_rows([this](const std::string& sql) { return scalar(sql); });
  EXPECT_EQ(scalar("SELECT string_agg(country, ',' ORDER BY country) FROM document_countries"), "RU,VN");
  EXPECT_EQ(scalar("SELECT record->'article'->>'lead' FROM documents"), "Deux ministres se sont rencontrés.");
  EXPECT_EQ(scalar("SELECT document_id FROM documents_text WHERE tsv @@ websearch_to_tsquery('simple', "
                   "'\"deux ministres\" énergie')"),
            "d1");
  // An update that drops a person and the event leaves none of their rows behind.
  auto update = testing::meeting_update("d1");
  ASSERT_EQ(stage.on_message(update).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  testing::expect_meeting_update_rows([this](const std::string& sql) { return scalar(sql); });
  EXPECT_EQ(scalar("SELECT version FROM documents"), "2");
}

TEST_F(PostgresSink, AReplayIsNoNewVersionAndEachUpdateInOneBatchIsOne) {
  StageFixture fixture(postgres_descriptor(), options());
  auto& stage = fixture.start();
  auto doc = make_document("d1", "texte");
  doc.record["article"] = {{"title", "Premier titre"}};
  for (int i = 0; i < 3; ++i) {
    auto copy = doc;
    ASSERT_EQ(stage.on_message(copy).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(scalar("SELECT count(*) || ' ' || max(version) FROM documents"), "1 1");
  // Two corrections in the same batch: two new versions, the last one stored.
  for (const char* title : {"Deuxième titre", "Troisième titre"}) {
    doc.record["article"]["title"] = title;
    auto copy = doc;
    ASSERT_EQ(stage.on_message(copy).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(scalar("SELECT count(*) || ' ' || max(version) || ' ' || max(title) FROM documents"),
            "1 3 Troisième titre");
  // A restarted stage replaying what it stored changes nothing.
  auto& again = fixture.start();
  auto copy = doc;
  ASSERT_EQ(again.on_message(copy).disposition, Disposition::Forward);
  ASSERT_TRUE(again.flush().ok());
  EXPECT_EQ(scalar("SELECT count(*) || ' ' || max(version) FROM documents"), "1 3");
  EXPECT_EQ(scalar("SELECT first_stored_at <= stored_at FROM documents"), "t");
}

TEST_F(PostgresSink, CommitsAFullBatchAtOnceAndTheRestAtFlush) {
  StageFixture fixture(postgres_descriptor(), options("batch_size: 3"));
  auto& stage = fixture.start();
  for (int i = 0; i < 5; ++i) {
    auto doc = make_document("d" + std::to_string(i), "x");
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM documents"), "3") << "a full batch is committed at once, not the rest";
  ASSERT_TRUE(stage.on_idle().ok());
  EXPECT_EQ(scalar("SELECT count(*) FROM documents"), "5");
  EXPECT_EQ(fixture.counters().get("transactions"), 2u);
}

TEST_F(PostgresSink, AServerStoppedMidRunThenRestartedLosesNothing) {
  StageFixture fixture(postgres_descriptor(), options("batch_size: 4"));
  auto& stage = fixture.start();
  int n = 0;
  auto send = [&](int count) {
    for (int i = 0; i < count; ++i, ++n) {
      auto doc = meeting_record("d" + std::to_string(n));
      ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward) << "documents wait, none is refused";
    }
  };
  send(10);
  ASSERT_TRUE(stage.flush().ok());
  ASSERT_TRUE(cluster().stop());
  send(10);  // batches fail to commit: they wait
  EXPECT_TRUE(stage.flush().ok()) << "an outage is logged once, not reported as a failure at each flush";
  EXPECT_EQ(fixture.counters().get("outages"), 1u);
  ASSERT_TRUE(cluster().start());
  send(3);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (fixture.counters().get("committed") < 23 && std::chrono::steady_clock::now() < deadline) {
    (void)stage.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM documents"), "23");
  EXPECT_EQ(scalar("SELECT count(*) FROM document_persons"), "46");
  EXPECT_EQ(scalar("SELECT max(version) FROM documents"), "1");
  EXPECT_EQ(fixture.counters().get("outages"), 1u);
  EXPECT_TRUE(fixture.dead_letters.empty());
}

TEST_F(PostgresSink, WhatWaitsWhenTheStageStopsOrCrashesDuringAnOutageIsWrittenByTheNextStart) {
  StageFixture fixture(postgres_descriptor(), options());
  const auto file = fixture.dir() / "sink_postgres" / "waiting.0.jsonl";
  for (const bool crash : {false, true}) {
    auto& stage = fixture.start();
    ASSERT_TRUE(cluster().stop());
    const std::string id = crash ? "crashed" : "stopped";
    for (const char* n : {"1", "2"}) {
      auto doc = meeting_record(id + n);
      ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
    }
    (void)stage.flush();  // the outage begins: the documents go to the file, synced
    if (!crash) stage.stop();
    EXPECT_TRUE(std::filesystem::exists(file));
    ASSERT_TRUE(cluster().start());
    auto& again = fixture.start();  // a crash: the old instance never heard of the stop
    ASSERT_TRUE(again.flush().ok());
    EXPECT_EQ(scalar("SELECT count(*) FROM documents WHERE id LIKE '" + id + "%'"), "2") << id;
    EXPECT_EQ(scalar("SELECT count(*) FROM document_persons WHERE document_id LIKE '" + id + "%'"), "4") << id;
    EXPECT_FALSE(std::filesystem::exists(file)) << "removed once all it held is written";
  }
  EXPECT_TRUE(fixture.dead_letters.empty());
}

TEST_F(PostgresSink, ARecordTheServerRefusesIsDeadLetteredAndTheRestOfItsBatchStored) {
  StageFixture fixture(postgres_descriptor(), options());
  auto& stage = fixture.start();
  // A rule of the database's owner refuses one document; a title that is not UTF-8 is stored repaired.
  (void)scalar("ALTER TABLE documents ADD CONSTRAINT no_bad CHECK (id <> 'bad') NOT VALID");
  for (const char* id : {"a", "bad", "c"}) {
    auto doc = make_document(id, "x");
    doc.record["article"] = {{"title", std::string("caf\xe9 noir")}};
    ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  }
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(scalar("SELECT string_agg(id, ',' ORDER BY id) FROM documents"), "a,c");
  EXPECT_EQ(scalar("SELECT title FROM documents WHERE id = 'a'"), "caf\uFFFD noir");
  EXPECT_EQ(scalar("SELECT record->'article'->>'title' FROM documents WHERE id = 'c'"), "caf\uFFFD noir");
  ASSERT_EQ(fixture.dead_letters.size(), 1u);
  EXPECT_NE(fixture.dead_letters[0].find("bad: PostgreSQL refused the record"), std::string::npos)
      << fixture.dead_letters[0];
  EXPECT_EQ(fixture.counters().get("outages"), 0u);
}

TEST_F(PostgresSink, ABadConnectionStringStopsTheStartWithTheReason) {
  {
    StageFixture fixture(postgres_descriptor(), "{dsn: 'hostaddr=127.0.0.1 nonsense=1'}");
    const auto started = fixture.try_start();
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.message().find("cannot connect to PostgreSQL (connection string from option dsn)"),
              std::string::npos)
        << started.message();
    EXPECT_NE(started.message().find("nonsense"), std::string::npos) << started.message();
  }
  ::setenv("VNAWIRE_TEST_PG_DSN", (cluster().dsn() + " dbname=no_such_db").c_str(), 1);
  StageFixture fixture(postgres_descriptor(), "{dsn_env: VNAWIRE_TEST_PG_DSN}");
  const auto started = fixture.try_start();
  ::unsetenv("VNAWIRE_TEST_PG_DSN");
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("environment variable VNAWIRE_TEST_PG_DSN"), std::string::npos) << started.message();
  EXPECT_NE(started.message().find("no_such_db"), std::string::npos) << started.message();
}

TEST_F(PostgresSink, TheConnectionStringComesFromTheEnvironmentAndALaterSchemaIsRefused) {
  ::setenv("VNAWIRE_TEST_PG_DSN", cluster().dsn().c_str(), 1);
  StageFixture fixture(postgres_descriptor(), "{dsn_env: VNAWIRE_TEST_PG_DSN, schema: " + schema_ + "}");
  auto& stage = fixture.start();
  auto doc = make_document("d1", "x");
  ASSERT_EQ(stage.on_message(doc).disposition, Disposition::Forward);
  ASSERT_TRUE(stage.flush().ok());
  EXPECT_EQ(scalar("SELECT count(*) FROM documents"), "1");
  (void)scalar("UPDATE vnawire_schema SET version = 99 RETURNING version");
  const auto started = fixture.try_start();
  ::unsetenv("VNAWIRE_TEST_PG_DSN");
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("schema version 99"), std::string::npos) << started.message();
}

// The runtime's own loop: the server goes away while documents arrive; all are stored once it is back,
// none is dead-lettered, and the replica stops cleanly.
TEST_F(PostgresSink, TheRuntimeKeepsDocumentsThroughARestartAndStopsCleanly) {
  testing::RunnerFixture fixture(
      "  - {name: src, type: scripted_source}\n"
      "  - {name: pg, type: sink_postgres, inputs: [src], options: " +
      options("batch_size: 5") + "}\n");
  auto producer = fixture.producer("src", "pg");
  fixture.start("pg");
  for (int i = 0; i < 10; ++i) testing::send_document(producer, meeting_record("r" + std::to_string(i)));
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == 10; },
                               std::chrono::seconds(20)));
  ASSERT_TRUE(cluster().stop());
  for (int i = 10; i < 30; ++i) testing::send_document(producer, meeting_record("r" + std::to_string(i)));
  ASSERT_TRUE(fixture.wait_for([](const nlohmann::json& c) { return c.value("forwarded", 0) == 30; },
                               std::chrono::seconds(20)));
  ASSERT_TRUE(cluster().start());
  ASSERT_TRUE(fixture.wait_for(
      [](const nlohmann::json& c) { return c.contains("counters") && c["counters"].value("committed", 0) == 30; },
      std::chrono::seconds(20)));
  EXPECT_EQ(fixture.stop(), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM documents"), "30");
  EXPECT_TRUE(fixture.dead_letters().empty());
}

}  // namespace
}  // namespace vnawire::sink
