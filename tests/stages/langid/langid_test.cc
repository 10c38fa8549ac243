// Langid: CLD2 and the whole decision on a paragraph per language, HTML, code mapping, and the accept filter.
#include "stages/langid/langid_stage.h"

#include <gtest/gtest.h>

#include "stages/langid/langid_cld2.h"
#include "stages/langid/langid_identify.h"
#include "stages/langid/langid_script.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::langid {
namespace {

using runtime::Disposition;
using testing::make_document;
using testing::StageFixture;

struct Paragraph {
  const char* code;
  const char* text;
};

// A short paragraph of our own in each language VNA publishes in (and German, a close Latin neighbour).
constexpr Paragraph kParagraphs[] = {
    {"vi", "Hai nước đã ký thỏa thuận hợp tác về giáo dục và thương mại tại Hà Nội vào sáng thứ Hai."},
    {"en", "The two countries signed an agreement on education and trade in Hanoi on Monday morning."},
    {"fr", "Les deux pays ont signé lundi matin à Hanoï un accord sur l'éducation et le commerce."},
    {"es", "Los dos países firmaron el lunes por la mañana en Hanói un acuerdo sobre educación y comercio."},
    {"ru", "Две страны подписали в понедельник утром в Ханое соглашение об образовании и торговле."},
    {"zh", "两国星期一上午在河内签署了教育和贸易合作协议。"},
    {"lo", "ສອງປະເທດໄດ້ລົງນາມໃນສັນຍາຮ່ວມມືດ້ານການສຶກສາ ແລະ ການຄ້າ ຢູ່ນະຄອນຫຼວງຮ່າໂນ້ຍ."},
    {"km", "ប្រទេសទាំងពីរបានចុះហត្ថលេខាលើកិច្ចព្រមព្រៀងស្តីពីការអប់រំ និងពាណិជ្ជកម្ម នៅទីក្រុងហាណូយ។"},
    {"ja", "両国は月曜日の朝、ハノイで教育と貿易に関する協定に署名しました。"},
    {"ko", "양국은 월요일 아침 하노이에서 교육과 무역에 관한 협정에 서명했습니다."},
    {"de", "Die beiden Länder haben am Montagmorgen in Hanoi ein Abkommen über Bildung und Handel unterzeichnet."},
};

// count_scripts counts sixteen ASCII bytes at a time: letters of either case, the bytes around them that are
// not letters ('@', '[', '`', '{', DEL), control bytes and an accented letter must count the same at every
// offset of the blocks as one by one.
TEST(LangidScript, LettersAndControlBytesCountTheSameAtEveryOffset) {
  const std::string pieces[] = {"a", "Z", "@", "[", "`", "{", "z", "A", "1", " ", "\x7f", "\n", "\x01", "é"};
  for (std::size_t at = 0; at < 40; ++at) {
    for (const std::string& piece : pieces) {
      const std::string text = std::string(at, 'x') + piece + std::string(37 - at % 11, '.') + piece;
      std::size_t letters = 0, invalid = 0;
      for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x80) continue;
        const unsigned char lower = b | 0x20;
        letters += lower >= 'a' && lower <= 'z' ? 1 : 0;
        invalid += b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' ? 1 : 0;
      }
      if (piece == "é") letters += 2;  // a Latin letter outside ASCII, twice
      const ScriptCounts counts = count_scripts(text);
      EXPECT_EQ(counts.of(Script::Latin), letters) << at << " " << piece;
      EXPECT_EQ(counts.total, letters) << at << " " << piece;
      EXPECT_EQ(counts.invalid, invalid) << at << " " << piece;
    }
  }
}

TEST(LangidCld2, IdentifiesTheMainVnaLanguages) {
  for (const auto& c : kParagraphs) {
    Detection d = detect_language(c.text, false);
    EXPECT_EQ(d.code, c.code) << c.text;
    EXPECT_TRUE(d.reliable) << c.text;
    EXPECT_GT(d.confidence, 0.8) << c.text;
  }
}

TEST(LangidIdentify, EachVnaLanguageOnAShortParagraph) {
  for (const auto& c : kParagraphs) EXPECT_EQ(identify(c.text, false, {}).code, c.code) << c.text;
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
  // CLD2 leaves its top-three arrays unset on invalid UTF-8: no language may be read from them (UBSan found it).
  EXPECT_TRUE(detect_language("Un texte \xff\xfe en fran\xe7" "ais", false).top.empty());
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
