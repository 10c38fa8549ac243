// Tests of the text-dispatch extractor on scraped-layout fixtures written for these tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "extract_test_util.h"
#include "stages/extract/extract_article.h"
#include "stages/extract/extract_lexicon.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

using extract_testing::read_fixture;

// fold_spaces gives most paragraphs back without folding them; every kind of white space and the soft
// hyphen must still be folded wherever they stand, and their look-alikes left alone.
TEST(ExtractText, FoldSpacesFoldsEveryWhiteSpaceAndDropsSoftHyphensWhereverTheyStand) {
  const std::vector<std::string> spaces = {
      "\t",           "\n",           "\r",           "\f",           "\v",           "  ",
      "\xC2\x85",     "\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x8A", "\xE2\x80\x8B",
      "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80", "\xEF\xBB\xBF"};
  for (const std::string& space : spaces) {
    EXPECT_EQ(util::fold_spaces("un" + space + "deux"), "un deux") << space;
    EXPECT_EQ(util::fold_spaces("un " + space + " deux trois"), "un deux trois") << space;
    EXPECT_EQ(util::fold_spaces(space + "un deux" + space), "un deux") << space;
  }
  // Paragraphs are checked sixteen bytes at a time: each kind at every offset across two blocks, after
  // text that has spaces and accents but nothing to fold.
  for (std::size_t n = 0; n <= 40; ++n) {
    const std::string before = "b" + std::string(n, 'a');
    for (const std::string& space : spaces) {
      EXPECT_EQ(util::fold_spaces("x " + before + space + "y é z"), "x " + before + " y é z") << n << space;
    }
    EXPECT_EQ(util::fold_spaces("x " + before + "\xC2\xADy"), "x " + before + "y") << n;
    const std::string kept = "x é " + before + "\xE2\x80\x99y \xC2\xAB z \xE2\x80\x8C";
    EXPECT_EQ(util::fold_spaces(kept), kept) << n;
  }
  EXPECT_EQ(util::fold_spaces("la coo\xC2\xADpération"), "la coopération");
  for (const std::string kept : {"« l’accord » – “oui” — … Hà Nội ạ", "x\xE2\x80\x8Cy", "ogham \xE1\x9A\x81"}) {
    EXPECT_EQ(util::fold_spaces(kept), kept);
  }
  EXPECT_EQ(util::fold_spaces(" "), "");
  EXPECT_EQ(util::fold_spaces(""), "");
}

bool contains_text(const std::vector<std::string>& list, const std::string& needle) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

// NFC: composed text comes back as it is, decomposed accents are composed, and the bytes of ill-formed
// UTF-8 are kept unless the text also needs composing (its bad sequences are then U+FFFD).
TEST(ExtractText, SplitLinesAtEveryKindOfLineEndAndEveryOffset) {
  using Lines = std::vector<std::string_view>;
  EXPECT_EQ(util::split_lines("un\ndeux\r\ntrois\rquatre"), (Lines{"un", "deux", "trois", "quatre"}));
  EXPECT_EQ(util::split_lines("un\n\ndeux\n"), (Lines{"un", "", "deux"}));
  EXPECT_EQ(util::split_lines("\r\n"), (Lines{""}));
  EXPECT_EQ(util::split_lines(""), Lines{});
  // Line ends are found sixteen bytes at a time: on either side of each block's end.
  for (std::size_t n = 0; n <= 40; ++n) {
    const std::string first(n, 'a');
    EXPECT_EQ(util::split_lines(first + "\r\nb"), (Lines{first, "b"})) << n;
    EXPECT_EQ(util::split_lines(first + "\nb\n"), (Lines{first, "b"})) << n;
  }
}

TEST(ExtractText, ToNfcComposesAndOtherwiseKeepsTheBytes) {
  EXPECT_EQ(util::to_nfc("Réunion à Huế"), "Réunion à Huế");
  EXPECT_EQ(util::to_nfc("Re\u0301union a\u0300 Hue\u0302\u0301"), "Réunion à Huế");
  EXPECT_EQ(util::to_nfc("abc\xff d\xc3"), "abc\xff d\xc3");
  EXPECT_EQ(util::to_nfc("e\u0301\xff"), "é\uFFFD");
  EXPECT_EQ(util::to_nfc(""), "");
}

TEST(ExtractText, FixtureIsThere) { ASSERT_FALSE(read_fixture("dispatch_basic.txt").empty()); }

TEST(ExtractText, TitleLeadAndDateline) {
  const Article a = extract_text_dispatch(read_fixture("dispatch_basic.txt"));
  ASSERT_TRUE(a.title.has_value());
  EXPECT_EQ(*a.title, "Le port de Hai Phong accueille un nouveau terminal à conteneurs");
  ASSERT_TRUE(a.lead.has_value());
  EXPECT_EQ(*a.lead,
            "Le nouveau terminal du port de Hai Phong, inauguré mardi, doublera la capacité de traitement des "
            "marchandises de la ville côtière d'ici à 2027.");
  ASSERT_TRUE(a.dateline.has_value());
  EXPECT_EQ(a.dateline->place, "Hai Phong");
  EXPECT_FALSE(a.dateline->date.has_value());
  EXPECT_FALSE(a.published.has_value());
}

TEST(ExtractText, BodyHasNoDatelineCaptionSignatureOrRelated) {
  const Article a = extract_text_dispatch(read_fixture("dispatch_basic.txt"));
  ASSERT_EQ(a.body.size(), 4u);
  // The dateline prefix is gone from the first paragraph.
  EXPECT_EQ(a.body[0].rfind("Le nouveau terminal du port", 0), 0u) << a.body[0];
  // The signature is gone from the last one, and nothing after it ("source", related) is body.
  EXPECT_EQ(a.body[3],
            "\"Nous voulons faire de Hai Phong une porte d'entrée majeure pour le commerce du Nord\", a "
            "indiqué M. Vinh.");
  EXPECT_FALSE(contains_text(a.body, "VNA"));
  EXPECT_FALSE(contains_text(a.body, "grues de quai"));
  EXPECT_FALSE(contains_text(a.body, "Quang Ninh"));
  EXPECT_FALSE(contains_text(a.body, "source"));
}

TEST(ExtractText, CaptionFromImageMarkerWithoutCredit) {
  const Article a = extract_text_dispatch(read_fixture("dispatch_basic.txt"));
  ASSERT_EQ(a.captions.size(), 1u);
  EXPECT_EQ(a.captions[0], "Des grues de quai déchargent un porte-conteneurs au terminal de Lach Huyen.");
}

TEST(ExtractText, RelatedTitlesOnly) {
  const Article a = extract_text_dispatch(read_fixture("dispatch_basic.txt"));
  ASSERT_EQ(a.related.size(), 3u);
  EXPECT_EQ(a.related[0].title, "Quang Ninh mise sur la construction navale pour créer des emplois");
  EXPECT_EQ(a.related[1].title, "Les marchés traditionnels de Hanoï se tournent vers le paiement numérique");
  // The repeated line (image alt text + title) gives one item.
  EXPECT_EQ(a.related[2].title, "Le tourisme fluvial relance l'économie du delta du Mékong");
  for (const auto& r : a.related) EXPECT_FALSE(r.url.has_value());
}

TEST(ExtractText, GluedWordsAreSplitWhenADictionaryIsInstalled) {
  if (system_lexicon("fr") == nullptr) GTEST_SKIP() << "no French Hunspell dictionary installed";
  const Article a = extract_text_dispatch(read_fixture("dispatch_basic.txt"));
  ASSERT_EQ(a.body.size(), 4u);
  EXPECT_NE(a.body[1].find("les nouveaux quais"), std::string::npos) << a.body[1];
  EXPECT_NE(a.body[2].find("techniciens de la logistique"), std::string::npos) << a.body[2];
}

TEST(ExtractText, DateHeaderGivesPublishedAndLeadWithoutTitle) {
  const Article a = extract_text_dispatch(read_fixture("dispatch_date_header.txt"));
  EXPECT_FALSE(a.title.has_value());
  EXPECT_EQ(a.published, "2023-11");
  ASSERT_TRUE(a.lead.has_value());
  EXPECT_EQ(a.lead->rfind("Une délégation de l'Assemblée nationale du Vietnam", 0), 0u);
  EXPECT_FALSE(a.dateline.has_value());
  // The caption line carries the first paragraph glued after its credit.
  ASSERT_EQ(a.captions.size(), 1u);
  EXPECT_EQ(a.captions[0],
            "La vice-présidente de l'Assemblée nationale Tran Thi Lan (centre) lors de l'ouverture du forum.");
  ASSERT_EQ(a.body.size(), 2u);
  EXPECT_EQ(
      a.body[0],
      "Les délégués ont examiné les moyens de partager les données hydrologiques du Mékong entre les pays riverains.");
  EXPECT_TRUE(a.related.empty());
}

TEST(ExtractText, DatelineWithDateAndSourceCredit) {
  const Article a = extract_text_dispatch(read_fixture("dispatch_dated.txt"));
  ASSERT_TRUE(a.dateline.has_value());
  EXPECT_EQ(a.dateline->place, "Santiago");
  EXPECT_EQ(a.dateline->date, "XXXX-03-14");
  ASSERT_EQ(a.captions.size(), 1u);
  EXPECT_EQ(a.captions[0], "Les ministres de l'Agriculture du Vietnam et du Chili lors de leur entretien.");
  ASSERT_EQ(a.body.size(), 2u);
  EXPECT_EQ(a.body[0].rfind("Le ministre vietnamien de l'Agriculture s'est entretenu", 0), 0u) << a.body[0];
  EXPECT_EQ(a.body[1], "Selon Maria Valdés, les exportations de vin vers le Vietnam ont progressé de 12% en un an.");
}

TEST(ExtractText, CamelCaseGlueNeedsNoDictionaryWhenBothHalvesStandAlone) {
  // "MariaValdés": both halves appear on their own in the same dispatch.
  const Article a = extract_text_dispatch(read_fixture("dispatch_dated.txt"));
  ASSERT_FALSE(a.body.empty());
  EXPECT_NE(a.body[0].find("homologue chilien Maria Valdés sur"), std::string::npos) << a.body[0];
}

TEST(ExtractText, DatelineYearComesFromTheDateHeader) {
  const Article a = extract_text_dispatch(
      " date 2024-01 Un chapeau de la dépêche assez long pour servir de chapeau.\n\n"
      "Hanoï, 28 décembre (VNA) - Le texte de la dépêche commence ici.\n");
  ASSERT_TRUE(a.dateline.has_value());
  EXPECT_EQ(a.dateline->place, "Hanoï");
  EXPECT_EQ(a.dateline->date, "2023-12-28");  // published in January, dated in December
  EXPECT_EQ(a.published, "2024-01");
}

TEST(ExtractText, OtherLanguagesMarkers) {
  const Article a = extract_text_dispatch(
      "Vietnam and Laos boost railway links\n\nThe two countries agreed to speed up a cross-border railway project.\n"
      "Hanoi, July 6 (VNA) – Officials from both sides met in the capital on Thursday.\n"
      "They discussed funding and the timetable of the works./.\n\nSee more\n\n"
      "Workers at a station in Lao Cai. Photo: VNA\n\nLao Cai station gets a new cargo terminal\n\n"
      "The terminal will handle fruit exports to China, officials said.\n");
  EXPECT_EQ(a.title, "Vietnam and Laos boost railway links");
  ASSERT_TRUE(a.dateline.has_value());
  EXPECT_EQ(a.dateline->place, "Hanoi");
  EXPECT_EQ(a.dateline->date, "XXXX-07-06");
  ASSERT_EQ(a.body.size(), 2u);
  EXPECT_EQ(a.body[1], "They discussed funding and the timetable of the works.");
  ASSERT_EQ(a.related.size(), 1u);
  EXPECT_EQ(a.related[0].title, "Lao Cai station gets a new cargo terminal");
}

TEST(ExtractText, BareImageMarkerCaptionNeedsTheDatelineAfterIt) {
  const std::string head =
      "Un titre de dépêche\n\nUn chapeau assez long pour être pris pour un chapeau.\n"
      "Un titre de dépêche ảnh 1\n\nUne courte légende sans crédit\n\n";
  const Article with = extract_text_dispatch(head + "Hué (VNA) - Le premier paragraphe.\n");
  ASSERT_EQ(with.captions.size(), 1u);
  EXPECT_EQ(with.captions[0], "Une courte légende sans crédit");
  ASSERT_EQ(with.body.size(), 1u);
  const Article without = extract_text_dispatch(head + "Le premier paragraphe sans lieu.\n");
  EXPECT_TRUE(without.captions.empty());
  EXPECT_EQ(without.body.size(), 2u);
}

TEST(ExtractText, BadInputGivesAnEmptyArticle) {
  for (const std::string& input : {std::string(), std::string("\n\n  \n"), std::string("abc\xff\xfe def"),
                                   std::string("\xc3\x28 invalid"), std::string("bin\0ary", 7)}) {
    const Article a = extract_text_dispatch(input);
    EXPECT_FALSE(a.title.has_value());
    EXPECT_TRUE(a.body.empty());
    EXPECT_TRUE(a.captions.empty());
  }
}

TEST(ExtractText, HugeInputDoesNotCrash) {
  std::string big;
  big.reserve(3u << 20);
  for (int i = 0; i < 60000; ++i) big += "Ligne de texte numéro " + std::to_string(i) + " avec desmots collés ici.\n";
  const Article a = extract_text_dispatch(big);
  EXPECT_TRUE(a.title.has_value());
  EXPECT_FALSE(a.body.empty());
  const Article too_big = extract_text_dispatch(std::string(17u << 20, 'a'));
  EXPECT_TRUE(too_big.body.empty());
}

}  // namespace
}  // namespace vnawire::extract
