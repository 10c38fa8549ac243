// Dedupe: normalisation, the four decisions, drop versus tag, and memory across a restart.
#include "stages/dedupe/dedupe_stage.h"

#include <gtest/gtest.h>

#include "stages/dedupe/dedupe_normalize.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::dedupe {
namespace {

using runtime::Disposition;
using testing::make_document;
using testing::StageFixture;

TEST(DedupeNormalize, FoldsCaseAccentsPunctuationAndMarkup) {
  EXPECT_EQ(normalize_for_dedupe("Hà Nội, l'Été « 2024 » !", false), "hanoilete2024");
  EXPECT_EQ(normalize_for_dedupe("Đà Nẵng", false), "danang");
  EXPECT_EQ(normalize_for_dedupe("<p>Le <b>texte</b></p><script>var x = 'caché';</script><!-- note -->", true),
            "letexte");
  EXPECT_EQ(normalize_for_dedupe("", false), "");
  EXPECT_EQ(normalize_for_dedupe("<p unclosed", true), "");
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
