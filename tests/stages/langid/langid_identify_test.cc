// Langid decisions: every VNA language, hints on short titles, long texts that keep their language, bad input.
#include "stages/langid/langid_identify.h"

#include <gtest/gtest.h>

#include "stages/langid/langid_ngram.h"
#include "stages/langid/langid_script.h"
#include "stages/langid/langid_stage.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::langid {
namespace {

using runtime::Disposition;
using testing::make_document;
using testing::StageFixture;

TEST(LangidIdentify, HintsFixAFiveWordTitle) {
  const std::string title = "Ninh Thuan restaure les tours";
  for (const char* from : {"url", "feed", "source", "html", "content_language"}) {
    Detection hinted = identify(title, false, {{"fr", from}});
    EXPECT_EQ(hinted.code, "fr") << from;
    EXPECT_EQ(hinted.from, std::string("hint:") + from);
  }
}

TEST(LangidIdentify, AHintInAnotherScriptIsIgnored) {
  // A Russian title listed under a French URL: the script rules the hint out.
  Detection detection = identify("Вьетнам и Россия укрепляют сотрудничество", false, {{"fr", "url"}});
  EXPECT_EQ(detection.code, "ru");
}

TEST(LangidIdentify, ScriptSettlesWhatCld2CannotOnShortText) {
  EXPECT_EQ(identify("東京", false, {}).code, "zh");  // kanji alone read as Chinese, kana make it Japanese
  EXPECT_EQ(identify("ありがとう", false, {}).code, "ja");
  EXPECT_EQ(identify("thương mại", false, {}).code, "vi");
  EXPECT_EQ(identify("сотрудничество", false, {}).code, "ru");
}

TEST(LangidIdentify, TheNgramModelAnswersWhereCld2HasNoAnswer) {
  // Words not in the model's training texts: the n-grams, not a word list, carry them.
  const std::pair<const char*, const char*> words[] = {{"fr", "chaussures"},
                                                       {"de", "Geschwindigkeit"},
                                                       {"es", "ayuntamiento"},
                                                       {"en", "neighbourhood"},
                                                       {"it", "ragazzi"}};
  for (const auto& [code, word] : words) {
    Detection detection = identify(word, false, {});
    EXPECT_EQ(detection.code, code) << word;
  }
  EXPECT_EQ(ngram_languages().size(), 8u);
  EXPECT_EQ(ngram_language("").code, "");
}

TEST(LangidIdentify, AShortTextInANeighbourVnaDoesNotPublishGoesToTheModel) {
  // Malay to CLD2; the model, which knows no Malay, reads it as its closest language. That is the
  // documented cost of winning back the Indonesian that CLD2 reads as Malay.
  const std::string text = "Polis sedang menyiasat kemalangan jalan raya itu.";
  ASSERT_EQ(detect_language(text, false).code, "ms");
  Detection detection = identify(text, false, {});
  EXPECT_EQ(detection.code, "id");
  EXPECT_EQ(detection.from, "ngram");
}

TEST(LangidIdentify, MisdecodedApostrophesDoNotSilenceCld2) {
  // U+0092 is what a cp1252 apostrophe becomes when a page is read as Latin-1; CLD2 stopped there.
  const std::string text = "Elle ne peut donc, à elle seule, nourrir le débat qui doit s\u0092engager en Europe.";
  EXPECT_EQ(identify(text, false, {}).code, "fr");
  EXPECT_EQ(scrubbed_utf8("s\u0092e\xff"), "s'e ");
}

TEST(LangidIdentify, MarkupScriptsAndStylesDoNotVote) {
  const std::string html =
      "<html><head><style>body { font-family: the and of to in is that it was for }</style>"
      "<script>var words = 'the and of to in is that it was for with on by';</script></head>"
      "<body><!-- the and of to in --><p title='the and of to in is'>Le gouvernement a présenté hier un plan"
      " pour moderniser le réseau ferroviaire national.</p></body></html>";
  EXPECT_EQ(identify(html, true, {}).code, "fr");
}

TEST(LangidIdentify, EmptyBinaryAndInvalidUtf8AreUnknown) {
  const std::vector<LanguageHint> hints{{"fr", "url"}};  // no hint makes a language out of nothing
  const std::string binary("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0\xff\xfe\xfd\xfc", 24);
  for (const std::string& text : {std::string(), binary, std::string("\xff\xfe\xfd\xc3\x28\xa0\xa1"),
                                  std::string("12345 67 -- !!"), std::string(4096, '\x80')}) {
    for (bool html : {false, true}) {
      Detection detection = identify(text, html, hints);
      EXPECT_EQ(detection.code, "und");
      EXPECT_EQ(detection.confidence, 0.0);
    }
  }
}

// A long text made of `paragraphs` repeated, each paragraph numbered so that no two are the same.
std::string long_text(const std::vector<std::string>& paragraphs, std::size_t bytes) {
  std::string text;
  for (int n = 1; text.size() < bytes; ++n) {
    text += paragraphs[n % paragraphs.size()] + " (" + std::to_string(n) + ")\n";
  }
  return text;
}

const std::vector<std::string> kFrench = {
    "Les deux provinces ont ouvert une nouvelle route entre leurs marchés de gros, ce qui raccourcit de moitié le "
    "voyage des camions chargés de légumes.",
    "Selon le directeur du service agricole, les paysans de la vallée ont récolté cette année davantage de riz "
    "que prévu malgré les pluies tardives.",
    "La municipalité prévoit de planter des arbres le long du fleuve et d'installer des bancs pour les "
    "promeneurs avant la fin de l'été.",
};
const std::vector<std::string> kEnglish = {
    "The two harbours agreed on Monday to share their weather stations, so that fishing boats receive warnings "
    "about storms several hours earlier than before.",
    "According to the school board, more children from the mountain villages finished secondary school this "
    "year than in any year since the survey began.",
};

TEST(LangidIdentify, ALongTextOfOneLanguageIsDecidedOnASampleOfIt) {
  const std::string text = long_text(kFrench, 12000);
  Detection detection = identify(text, false, {});
  EXPECT_EQ(detection.code, "fr");
  EXPECT_EQ(detection.from, "cld2");
  EXPECT_TRUE(detection.sampled);
  // Three windows of about kSampleWindowBytes were scored, not the 12 KB.
  EXPECT_LT(detection.text_bytes, static_cast<int>(3 * kSampleWindowBytes + 300));
  EXPECT_GE(detection.confidence, 0.9);
  // Below the sampling size the whole text is read.
  const std::string shorter = long_text(kFrench, kSampleFromBytes - 400);
  Detection whole = identify(shorter, false, {});
  EXPECT_EQ(whole.code, "fr");
  EXPECT_FALSE(whole.sampled);
  EXPECT_GT(whole.text_bytes, static_cast<int>(3 * kSampleWindowBytes + 300));
}

TEST(LangidIdentify, ALongTextWhoseSampleMixesLanguagesIsReadWhole) {
  // An English lead of about one window before a French body four times as long: the sample is a third
  // English, so it does not decide; the whole text is French. A sample of the start alone would say English.
  const std::string lead = long_text(kEnglish, kSampleWindowBytes + 100);
  const std::string text = lead + long_text(kFrench, 6 * lead.size());
  ASSERT_GE(text.size(), kSampleFromBytes + 1000);  // long enough to be sampled first
  Detection detection = identify(text, false, {});
  EXPECT_EQ(detection.code, "fr");
  EXPECT_FALSE(detection.sampled);
  EXPECT_GT(detection.text_bytes, static_cast<int>(text.size() / 2));
  // The same on markup: the visible text is sampled, the tags are not.
  Detection page = identify(
      "<html><body><p>" + lead + "</p><p>" + long_text(kFrench, 6 * lead.size()) + "</p></body></html>", true, {});
  EXPECT_EQ(page.code, "fr");
  EXPECT_FALSE(page.sampled);
}

TEST(LangidIdentify, ASampleOfTextWithoutSpacesStaysSmall) {
  // Chinese has no spaces to cut at: each window ends on a character boundary near its width instead of
  // running to the end of the text.
  const std::vector<std::string> chinese = {"两国领导人同意在农业和教育领域加强合作，并将于明年举行新一轮会谈。",
                                            "该省今年的大米出口量比去年增长了百分之十二，主要销往亚洲市场。"};
  std::string text;
  for (int n = 0; text.size() < 20000; ++n) text += chinese[n % 2];
  Detection detection = identify(text, false, {});
  EXPECT_EQ(detection.code, "zh");
  EXPECT_TRUE(detection.sampled);
  EXPECT_LT(detection.text_bytes, static_cast<int>(3 * kSampleWindowBytes + 300));
}

TEST(LangidIdentify, SamplingCanBeTurnedOff) {
  const std::string text = long_text(kFrench, 12000);
  Detection whole = identify(text, false, {}, false);
  EXPECT_EQ(whole.code, "fr");
  EXPECT_FALSE(whole.sampled);
  EXPECT_GT(whole.text_bytes, 10000);
}

TEST(LangidHints, TagsUrlsAndPageDeclarations) {
  using Reader = std::string (*)(std::string_view);
  const struct {
    Reader read;
    const char* input;
    const char* code;
  } cases[] = {
      {primary_language, "fr-FR", "fr"},
      {primary_language, " ZH_Hant ", "zh"},
      {primary_language, "fr, en", ""},  // several languages name none
      {primary_language, "und", ""},
      {url_edition, "https://fr.vietnamplus.vn/une-depeche-123.vnp", "fr"},
      {url_edition, "https://vnanet.vn/es/noticias/x.html", "es"},
      {url_edition, "https://www.vietnamplus.vn/en", ""},  // a page named "en", not a section
      {url_edition, "https://fr.com/a", ""},               // a site named fr, not an edition
      {url_edition, "https://example.invalid/news/fr/", ""},
      {html_declared_language, "<!doctype html><HTML data-lang='en' LANG=\"vi-VN\"><head>", "vi"},
      {html_declared_language, "<html xml:lang='ru'>", "ru"},
      {html_declared_language, "<html><head><meta http-equiv='Content-Language' content='fr'></head>", "fr"},
      {html_declared_language, "<html><head><meta name='description' content='en'></head>", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(c.read(c.input), c.code) << c.input;
}

TEST(LangidStageHints, AConfidentLongEnglishTextUnderAFrenchUrlStaysEnglish) {
  StageFixture fixture(langid_descriptor(), "{}");
  auto& stage = fixture.start();
  auto document = make_document(
      "en-long",
      "Vietnam's seafood exports rose sharply in the first ten months of the year, the Vietnam Association of "
      "Seafood Exporters and Producers said on Tuesday, as demand recovered in the United States, Japan and the "
      "European Union. Shrimp and pangasius led the growth, while tuna shipments to the Middle East also climbed.");
  document.record["url"] = "https://fr.vietnamplus.vn/seafood-exports-123.vnp";
  document.record["fetch"] = {{"feed_language", "fr"}};
  EXPECT_EQ(stage.on_message(document).disposition, Disposition::Forward);
  EXPECT_EQ(document.record["lang"]["code"], "en");
  EXPECT_EQ(document.record["lang"]["from"], "cld2");
  EXPECT_EQ(document.record["lang"]["hints"].size(), 2u);
}

TEST(LangidStageHints, TheRecordsHintsFixItsShortTitle) {
  StageFixture fixture(langid_descriptor(), "{}");
  auto& stage = fixture.start();
  auto document = make_document(
      "fr-title", "<html lang='fr'><body><h1>Ninh Thuan restaure les tours</h1></body></html>", "text/html");
  stage.on_message(document);
  EXPECT_EQ(document.record["lang"]["code"], "fr");
  EXPECT_EQ(document.record["lang"]["from"], "hint:html");
}

TEST(LangidStageSampling, TheOptionDecidesAndSampledTextsAreCounted) {
  const std::string text = long_text(kFrench, 12000);
  for (const bool sample : {true, false}) {
    StageFixture fixture(langid_descriptor(), sample ? "{}" : "{sample_long_texts: false}");
    auto& stage = fixture.start();
    auto document = make_document("d", text);
    EXPECT_EQ(stage.on_message(document).disposition, Disposition::Forward);
    EXPECT_EQ(document.record["lang"]["code"], "fr");
    EXPECT_EQ(fixture.counters().get("sampled"), sample ? 1u : 0u) << sample;
  }
}

TEST(LangidStageRouting, OtherLanguagesAreDroppedAndCountedPerLanguage) {
  StageFixture fixture(langid_descriptor(), "{accept: [fr, en]}");
  auto& stage = fixture.start();
  const std::pair<const char*, const char*> texts[] = {
      {"vi", "Hai nước đã ký thỏa thuận hợp tác về giáo dục và thương mại tại Hà Nội vào sáng thứ Hai."},
      {"vi", "Thủ tướng đã tiếp Đại sứ Pháp tại trụ sở Chính phủ và trao đổi về hợp tác kinh tế."},
      {"ru", "Две страны подписали в понедельник утром в Ханое соглашение об образовании и торговле."},
      {"en", "The two countries signed an agreement on education and trade in Hanoi on Monday morning."},
      {"und", ""},
  };
  int i = 0;
  for (const auto& [code, text] : texts) {
    auto document = make_document("d" + std::to_string(i++), text);
    auto verdict = stage.on_message(document);
    EXPECT_EQ(verdict.disposition, std::string(code) == "en" ? Disposition::Forward : Disposition::Drop) << code;
  }
  EXPECT_EQ(fixture.counters().get("filtered.vi"), 2u);
  EXPECT_EQ(fixture.counters().get("filtered.ru"), 1u);
  EXPECT_EQ(fixture.counters().get("filtered.und"), 1u);
  EXPECT_EQ(fixture.counters().get("lang.en"), 1u);
}

}  // namespace
}  // namespace vnawire::langid
