// Langid: CLD2 on whole texts and HTML, code mapping, and the accept filter.
#include "stages/langid/langid_stage.h"

#include <gtest/gtest.h>

#include "stages/langid/langid_cld2.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::langid {
namespace {

using runtime::Disposition;
using testing::make_document;
using testing::StageFixture;

TEST(LangidCld2, IdentifiesTheMainVnaLanguages) {
  struct Case {
    const char* code;
    const char* text;
  } cases[] = {
      {"fr", "Le ministère a annoncé hier une série de mesures pour soutenir les exportations agricoles du pays."},
      {"vi", "Bộ trưởng đã công bố hôm qua một loạt biện pháp nhằm hỗ trợ xuất khẩu nông sản của đất nước."},
      {"en", "The ministry announced a series of measures yesterday to support the country's farm exports."},
      {"es", "El ministerio anunció ayer una serie de medidas para apoyar las exportaciones agrícolas del país."},
      {"ru", "Министерство вчера объявило о ряде мер по поддержке сельскохозяйственного экспорта страны."},
      {"zh", "该部昨天宣布了一系列措施，以支持国家的农产品出口，并加强与邻国的贸易合作。"},
  };
  for (const auto& c : cases) {
    Detection d = detect_language(c.text, false);
    EXPECT_EQ(d.code, c.code) << c.text;
    EXPECT_TRUE(d.reliable) << c.text;
    EXPECT_GT(d.confidence, 0.8) << c.text;
  }
}

TEST(LangidCld2, MarkupDoesNotVote) {
  const std::string html =
      "<html><head><script>var english_words = 'the and of to in is that it was for';</script></head>"
      "<body><p>Le gouvernement a présenté un plan pour moderniser le réseau ferroviaire national.</p></body></html>";
  EXPECT_EQ(detect_language(html, true).code, "fr");
}

TEST(LangidCld2, CodesAndEmptyText) {
  EXPECT_EQ(iso_code("zh-Hant"), "zh");
  EXPECT_EQ(iso_code("un"), "und");
  EXPECT_EQ(iso_code("fr"), "fr");
  EXPECT_EQ(detect_language("", false).code, "und");
  EXPECT_EQ(detect_language("\xff\xfe\xfd", false).code, "und");  // not UTF-8: unknown, no crash
}

TEST(LangidStage, SetsLangAndFiltersByAcceptList) {
  StageFixture fixture(langid_descriptor(), "{accept: [fr]}");
  auto& stage = fixture.start();
  auto fr = make_document("fr", "Les deux pays ont signé un accord de coopération dans le domaine de l'éducation.");
  EXPECT_EQ(stage.on_message(fr).disposition, Disposition::Forward);
  EXPECT_EQ(fr.record["lang"]["code"], "fr");
  EXPECT_TRUE(fr.record["lang"]["top"].is_array());
  auto en = make_document("en", "The two countries signed a cooperation agreement in the field of education.");
  auto verdict = stage.on_message(en);
  EXPECT_EQ(verdict.disposition, Disposition::Drop);
  EXPECT_EQ(verdict.reason, "language en is not accepted");
  EXPECT_EQ(fixture.counters().get("filtered.en"), 1u);
  EXPECT_EQ(fixture.counters().get("lang.fr"), 1u);
}

}  // namespace
}  // namespace vnawire::langid
