// Dedupe: normalisation, the four decisions, drop versus tag, and memory across a restart.
#include "stages/dedupe/dedupe_stage.h"

#include <lmdb.h>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <optional>

#include "stages/dedupe/dedupe_normalize.h"
#include "stages/dedupe/dedupe_store.h"
#include "tests/stages/dedupe/dedupe_tag.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::dedupe {
namespace {

using runtime::Disposition;
using testing::make_document;
using testing::StageFixture;
using testing::tag_after;

TEST(DedupeNormalize, FoldsCaseAccentsPunctuationAndMarkup) {
  EXPECT_EQ(normalize_for_dedupe("Hà Nội, l'Été « 2024 » !", false), "hanoilete2024");
  EXPECT_EQ(normalize_for_dedupe("Đà Nẵng", false), "danang");
  EXPECT_EQ(normalize_for_dedupe("<p>Le <b>texte</b></p><script>var x = 'caché';</script><!-- note -->", true),
            "letexte");
  EXPECT_EQ(normalize_for_dedupe("", false), "");
  EXPECT_EQ(normalize_for_dedupe("<p unclosed", true), "");
}

TEST(DedupeNormalize, ScriptsInAnyCaseAndEntitiesDoNotChangeTheFingerprint) {
  // A page whose tracking script changes on every load, tags in capitals, is the same text as its plain copy.
  const std::string page =
      "<P>R&eacute;union &#224; Hu&#x1EBF;</P><Script>track(1)</sCRIPT><STYLE>p{}</Style><!-- x -->";
  EXPECT_EQ(normalize_for_dedupe(page, true), normalize_for_dedupe("Réunion à Huế", false));
  EXPECT_EQ(normalize_for_dedupe(page, true), "reunionahue");
  const DedupeText both = prepare_text(page, true, true);
  EXPECT_EQ(both.normalized, "reunionahue");
  EXPECT_EQ(both.words, (std::vector<std::string>{"reunion", "a", "hue"}));
  EXPECT_TRUE(prepare_text(page, true, false).words.empty());
  EXPECT_EQ(fingerprint("abc").size(), 32u);
  EXPECT_NE(fingerprint("abc"), fingerprint("abd"));
}

TEST(DedupeStage, DecidesUniqueDuplicateReplayAndUpdate) {
  StageFixture fixture(dedupe_descriptor(), "{action: tag}");
  auto& stage = fixture.start();
  auto first = make_document("a", "Le même texte.");
  EXPECT_EQ(stage.on_message(first).disposition, Disposition::Forward);
  EXPECT_EQ(first.record["dedupe"]["status"], "unique");

  auto copy = make_document("b", "<p>LE MÊME texte</p>", "text/html");
  EXPECT_EQ(stage.on_message(copy).disposition, Disposition::Forward);
  EXPECT_EQ(copy.record["dedupe"]["status"], "duplicate");
  EXPECT_EQ(copy.record["dedupe"]["of"], "a");

  auto replay = make_document("a", "Le même texte.");
  EXPECT_EQ(stage.on_message(replay).disposition, Disposition::Forward);
  EXPECT_EQ(replay.record["dedupe"]["status"], "replay");

  auto update = make_document("a", "Le même texte, corrigé.");
  EXPECT_EQ(stage.on_message(update).disposition, Disposition::Forward);
  EXPECT_EQ(update.record["dedupe"]["status"], "update");
  EXPECT_EQ(fixture.counters().get("duplicate"), 1u);
}

// Shown the next document early (Stage::upcoming), the stage prepares it but decides it only when handed
// it, against what was recorded meanwhile; a document other than the one shown is decided on its own text.
TEST(DedupeStage, ADocumentShownEarlyIsDecidedOnlyWhenHandedAndOnItsOwnText) {
  StageFixture fixture(dedupe_descriptor(), "{action: tag}");
  auto& stage = fixture.start();
  const std::string first = "La commission mixte a tenu sa quatrième session à Hanoï.";
  const std::string edited = "La commission mixte a tenu sa quatrième session à Hanoï mardi.";
  // The copy is shown before the original is recorded: it is still found to be the original's copy.
  auto original = make_document("a", first);
  auto copy = make_document("b", first);
  stage.upcoming(copy);
  EXPECT_EQ(stage.on_message(original).disposition, Disposition::Forward);
  EXPECT_EQ(original.record["dedupe"]["status"], "unique");
  EXPECT_EQ(stage.on_message(copy).disposition, Disposition::Forward);
  EXPECT_EQ(copy.record["dedupe"]["status"], "duplicate");
  EXPECT_EQ(copy.record["dedupe"]["of"], "a");
  // Shown a re-edit of "a", then handed "a" unchanged (the same id, another body): a replay, not an update.
  stage.upcoming(make_document("a", edited));
  EXPECT_EQ(tag_after(stage, "a", first)["status"], "replay");
  EXPECT_EQ(tag_after(stage, "a", edited)["status"], "update");
  // Shown a document that never comes (the runtime stopped), the next one is decided on its own text.
  stage.upcoming(make_document("c", first));
  EXPECT_EQ(tag_after(stage, "c", "Un autre texte, sans rapport.")["status"], "unique");
  EXPECT_EQ(fixture.counters().get("prepared_ahead"), 2u);  // the copy and the re-edit
  // The same id and text under another URL: its own URL decides (a page met again under a known URL).
  auto known = make_document("p", "Une page lue une première fois.");
  known.record["url"] = "https://example.invalid/page";
  EXPECT_EQ(stage.on_message(known).disposition, Disposition::Forward);
  auto shown = make_document("q", "La même page, lue ailleurs.");
  shown.record["url"] = "https://example.invalid/other";
  auto handed = make_document("q", "La même page, lue ailleurs.");
  handed.record["url"] = "https://example.invalid/page";
  stage.upcoming(shown);
  EXPECT_EQ(stage.on_message(handed).disposition, Disposition::Forward);
  EXPECT_EQ(handed.record["dedupe"]["status"], "duplicate");
  EXPECT_EQ(handed.record["dedupe"]["of"], "p");
}

// The runtime shows document k+1 before it hands over k, which it showed before handing over k-1: each
// is prepared once, when shown, and decided in its turn.
TEST(DedupeStage, EachDocumentOfABackedUpInputIsPreparedOnceWhenShown) {
  StageFixture fixture(dedupe_descriptor(), "{action: tag}");
  auto& stage = fixture.start();
  std::vector<runtime::Document> documents;
  for (int i = 0; i < 5; ++i) {
    documents.push_back(make_document("d" + std::to_string(i), "Communiqué numéro " + std::to_string(i) + "."));
  }
  documents.push_back(make_document("d5", "Communiqué numéro 2."));
  for (std::size_t k = 0; k < documents.size(); ++k) {
    if (k + 1 < documents.size()) stage.upcoming(documents[k + 1]);
    EXPECT_EQ(stage.on_message(documents[k]).disposition, Disposition::Forward);
  }
  EXPECT_EQ(fixture.counters().get("prepared_ahead"), documents.size() - 1);
  EXPECT_EQ(documents[5].record["dedupe"]["status"], "duplicate");
  EXPECT_EQ(documents[5].record["dedupe"]["of"], "d2");
}

TEST(DedupeStage, DropsDuplicatesByDefaultAndRemembersAcrossRestarts) {
  StageFixture fixture(dedupe_descriptor(), "");
  {
    auto& stage = fixture.start();
    auto first = make_document("a", "Une dépêche.");
    EXPECT_EQ(stage.on_message(first).disposition, Disposition::Forward);
    ASSERT_TRUE(stage.flush().ok());
  }
  auto& restarted = fixture.start();
  auto copy = make_document("z", "une   dépêche");
  auto verdict = restarted.on_message(copy);
  EXPECT_EQ(verdict.disposition, Disposition::Drop);
  EXPECT_EQ(verdict.reason, "duplicate of a");
}

// Under load decisions are committed in groups; once the input is idle, what was decided survives a crash.
TEST(DedupeStage, WhatWasDecidedBeforeTheInputWentIdleSurvivesACrash) {
  StageFixture fixture(dedupe_descriptor(), "{commit_every: 100}");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto& stage = fixture.start();
    auto first = make_document("a", "Une première dépêche.");
    bool ok = stage.on_message(first).disposition == Disposition::Forward && stage.on_idle().ok();
    auto second = make_document("b", "Une deuxième dépêche.");
    ok = ok && stage.on_message(second).disposition == Disposition::Forward;
    ::_exit(ok ? 0 : 1);  // killed with "b" in an open group: no destructor, no flush
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto& restarted = fixture.start();
  auto copy = make_document("z", "une première dépêche");
  EXPECT_EQ(restarted.on_message(copy).disposition, Disposition::Drop);
  auto again = make_document("y", "une deuxième dépêche");
  EXPECT_EQ(restarted.on_message(again).disposition, Disposition::Forward) << "the open group is forgotten";
}

TEST(DedupeStage, IdsLongerThanAnLmdbKeyAreRememberedLikeAnyOther) {
  StageFixture fixture(dedupe_descriptor(), "{action: tag}");
  auto& stage = fixture.start();
  // The codec allows ids of 1024 bytes; LMDB keys stop at 511. These two share their first 1023 bytes.
  const std::string long_id(1024, 'i');
  const std::string other_id = std::string(1023, 'i') + "j";
  EXPECT_EQ(tag_after(stage, long_id, "Un texte.")["status"], "unique");
  EXPECT_EQ(tag_after(stage, long_id, "Un texte.")["status"], "replay");
  EXPECT_EQ(tag_after(stage, long_id, "Un texte corrigé.")["status"], "update");
  EXPECT_EQ(tag_after(stage, other_id, "Un autre texte.")["status"], "unique");
  const auto copy = tag_after(stage, "short", "un texte corrige");
  EXPECT_EQ(copy["status"], "duplicate");
  EXPECT_EQ(copy["of"], long_id);
}

// Runs `work` in a write transaction of the LMDB environment at `path`, as another binary would.
void in_raw_store(const std::filesystem::path& path, const std::function<void(MDB_txn*)>& work) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  ASSERT_EQ(mdb_env_open(env, path.c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  work(txn);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

TEST(DedupeStage, AStoreOfTheFirstFormatIsRefusedWithAClearMessage) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path path = ::mkdtemp(pattern);
  in_raw_store(path, [](MDB_txn* txn) {  // what the first release leaves: the text's fingerprint -> id in "texts"
    MDB_dbi texts = 0;
    ASSERT_EQ(mdb_dbi_open(txn, "texts", MDB_CREATE, &texts), 0);
    std::string fp = fingerprint(normalize_for_dedupe("Une dépêche.", false)), id = "old";
    MDB_val key{fp.size(), fp.data()}, value{id.size(), id.data()};
    ASSERT_EQ(mdb_put(txn, texts, &key, &value, 0), 0);
  });
  FingerprintStore store;
  const runtime::Status status = store.open(path, 64 << 20);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(path.string()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("earlier vnawire"), std::string::npos) << status.message();
  std::filesystem::remove_all(path);
}

TEST(DedupeStage, AStoreOfANewerLogFormatIsRefusedAndAnOlderOneIsMarkedAsThisOne) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path path = ::mkdtemp(pattern);
  {
    FingerprintStore store;
    ASSERT_TRUE(store.open(path, 64 << 20).ok());
  }
  const auto in_log = [&](const std::function<void(MDB_txn*, const LogTables&)>& work) {
    in_raw_store(path, [&](MDB_txn* txn) {
      LogTables tables;
      ASSERT_EQ(open_log(txn, tables), 0);
      work(txn, tables);
    });
  };
  const auto set_format = [&](std::optional<std::uint32_t> format) {  // nullopt: as a log before formats
    in_log([&](MDB_txn* txn, const LogTables& tables) {
      std::string name = "format";
      MDB_val key{name.size(), name.data()};
      MDB_val value{sizeof(std::uint32_t), format ? &*format : nullptr};
      EXPECT_EQ(format ? mdb_put(txn, tables.meta, &key, &value, 0) : mdb_del(txn, tables.meta, &key, nullptr), 0);
    });
  };
  const auto format_now = [&] {
    std::uint32_t format = 0;
    in_log([&](MDB_txn* txn, const LogTables& tables) { EXPECT_EQ(check_log_format(txn, tables, format), 0); });
    return format;
  };
  EXPECT_EQ(format_now(), kLogFormat);
  set_format(std::nullopt);
  {
    FingerprintStore store;
    ASSERT_TRUE(store.open(path, 64 << 20).ok());
  }
  EXPECT_EQ(format_now(), kLogFormat);
  set_format(kLogFormat + 1);
  {
    FingerprintStore store;
    const runtime::Status status = store.open(path, 64 << 20);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("newer vnawire"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(path.string()), std::string::npos) << status.message();
    EXPECT_TRUE(store.set_aside().empty());  // refused, not taken for damaged
  }
  EXPECT_EQ(format_now(), kLogFormat + 1);  // left as it was
  // A value of another size: a format this one cannot read, refused the same way and left as it is.
  in_log([](MDB_txn* txn, const LogTables& tables) {
    std::string name = "format";
    std::uint64_t wide = 7;
    MDB_val key{name.size(), name.data()}, value{sizeof wide, &wide};
    EXPECT_EQ(mdb_put(txn, tables.meta, &key, &value, 0), 0);
  });
  FingerprintStore store;
  const runtime::Status status = store.open(path, 64 << 20);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("newer vnawire (log format unknown"), std::string::npos) << status.message();
  EXPECT_EQ(format_now(), std::numeric_limits<std::uint32_t>::max());
  std::filesystem::remove_all(path);
}

TEST(DedupeStage, AFullFingerprintStoreDeadLettersInsteadOfRetrying) {
  StageFixture fixture(dedupe_descriptor(), "{map_size_mb: 1}");
  auto& stage = fixture.start();
  runtime::Verdict verdict;
  for (int i = 0; i < 50000 && verdict.disposition == Disposition::Forward; ++i) {
    auto document = make_document(std::string(200, 'p') + std::to_string(i), "dépêche numéro " + std::to_string(i));
    verdict = stage.on_message(document);
  }
  EXPECT_EQ(verdict.disposition, Disposition::DeadLetter) << verdict.reason;
  EXPECT_NE(verdict.reason.find("MDB_MAP_FULL"), std::string::npos) << verdict.reason;
}

TEST(DedupeStage, DeadLettersRecordsWithoutBody) {
  StageFixture fixture(dedupe_descriptor(), "");
  auto& stage = fixture.start();
  runtime::Document d;
  d.header.id = "x";
  d.record = {{"id", "x"}, {"body", 12}};
  EXPECT_EQ(stage.on_message(d).disposition, Disposition::DeadLetter);
}

}  // namespace
}  // namespace vnawire::dedupe
