// Tests of date expressions found in an article's text and their EDTF form.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_dateline.h"
#include "stages/extract/extract_dates.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

// The one date a sentence holds, as {text, edtf}; both empty when there is not exactly one.
std::pair<std::string, std::string> only_date(std::string_view text, std::optional<std::string> published) {
  const auto found = find_dates(text, published);
  if (found.size() != 1) return {};
  return {found[0].text, found[0].edtf};
}

using Found = std::pair<std::string, std::string>;

// The date scanner reads a word's digits off its bytes, without folding it, on the strength of this: no
// character but an ASCII digit folds (lower case, canonical decomposition, marks dropped) to text holding
// an ASCII digit. Compatibility forms such as "²" or "３" would, under NFKD, which the fold does not use.
TEST(ExtractDates, NoCharacterFoldsToADigit) {
  std::string utf8;
  int folded_with_digit = 0;
  for (char32_t c = 0x80; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    utf8.clear();
    util::append_utf8(utf8, c);
    const std::string key = util::fold_key(utf8);
    if (key.find_first_of("0123456789") != std::string::npos) {
      ADD_FAILURE() << "U+" << std::hex << static_cast<std::uint32_t>(c) << " folds to " << key;
      if (++folded_with_digit == 5) break;
    }
  }
  // And the fold keeps the digits it is given: what the scanner relies on for ASCII words.
  EXPECT_EQ(util::fold_key("Ngày 20"), "ngay 20");
}

TEST(ExtractDates, FrenchForms) {
  const std::optional<std::string> pub = "2022-12-20";
  EXPECT_EQ(only_date("Il est arrivé le 6 juillet à Hanoï.", pub), Found("6 juillet", "2022-07-06"));
  EXPECT_EQ(only_date("Le forum se tient du 10 au 13 septembre.", pub),
            Found("du 10 au 13 septembre", "2022-09-10/2022-09-13"));
  EXPECT_EQ(only_date("La visite a duré du 29 novembre au 2 décembre.", pub),
            Found("du 29 novembre au 2 décembre", "2022-11-29/2022-12-02"));
  EXPECT_EQ(only_date("Le salon, 20-23 janvier 2022, a fermé.", pub),
            Found("20-23 janvier 2022", "2022-01-20/2022-01-23"));
  EXPECT_EQ(only_date("Ils se sont vus mardi 3 décembre.", pub), Found("mardi 3 décembre", "2022-12-03"));
  EXPECT_EQ(only_date("Signé le 6/7/2022 à Paris.", std::nullopt), Found("6/7/2022", "2022-07-06"));
}

TEST(ExtractDates, WeekdaysTheDatelineKnows) {
  // The weekday belongs to the expression in every language the dateline reads, Spanish included.
  const std::optional<std::string> pub = "2022-12-20";
  EXPECT_EQ(only_date("Se reunieron el miércoles 3 diciembre.", pub), Found("miércoles 3 diciembre", "2022-12-03"));
  EXPECT_EQ(only_date("They met on Wednesday 3 December.", pub), Found("Wednesday 3 December", "2022-12-03"));
}

TEST(ExtractDates, EnglishForms) {
  const std::optional<std::string> pub = "2022-12-20";
  EXPECT_EQ(only_date("The talks opened on July 6.", pub), Found("July 6", "2022-07-06"));
  EXPECT_EQ(only_date("It was signed on 6 July 2022 in Hanoi.", std::nullopt), Found("6 July 2022", "2022-07-06"));
  EXPECT_EQ(only_date("The fair ran September 10-13, drawing crowds.", pub),
            Found("September 10-13", "2022-09-10/2022-09-13"));
}

TEST(ExtractDates, VietnameseForms) {
  const std::optional<std::string> pub = "2022-12-20";
  EXPECT_EQ(only_date("Hội nghị diễn ra ngày 6/7 tại Hà Nội.", pub), Found("ngày 6/7", "2022-07-06"));
  EXPECT_EQ(only_date("Hiệp định được ký ngày 6 tháng 7 năm 2022.", std::nullopt),
            Found("ngày 6 tháng 7 năm 2022", "2022-07-06"));
  EXPECT_EQ(only_date("Hiệp định được ký ngày 6 tháng 7.", pub), Found("ngày 6 tháng 7", "2022-07-06"));
}

TEST(ExtractDates, YearInferredAcrossNewYear) {
  const std::optional<std::string> pub = "2024-01-03";
  EXPECT_EQ(only_date("La réunion a eu lieu le 29 décembre.", pub), Found("29 décembre", "2023-12-29"));
  EXPECT_EQ(only_date("Il est rentré le 2 janvier.", pub), Found("2 janvier", "2024-01-02"));
  EXPECT_EQ(only_date("La trêve, du 29 décembre au 2 janvier, a tenu.", pub),
            Found("du 29 décembre au 2 janvier", "2023-12-29/2024-01-02"));
  // Only the month is known: a later month is last year's.
  EXPECT_EQ(only_date("le 6 octobre", std::optional<std::string>("2024-03")), Found("6 octobre", "2023-10-06"));
  EXPECT_EQ(only_date("le 6 mars", std::optional<std::string>("2024-03")), Found("6 mars", "2024-03-06"));
}

TEST(ExtractDates, APastEventIsNeverAfterPublicationAndAnAnnouncedOneMayBe) {
  const std::optional<std::string> january = "2024-01-15";
  EXPECT_EQ(only_date("La réunion s'est tenue le 10 mars.", january), Found("10 mars", "2023-03-10"));
  EXPECT_EQ(only_date("L'opéra a rouvert le 10 mars.", january), Found("10 mars", "2023-03-10"))
      << "a noun ending like a future verb";
  EXPECT_EQ(only_date("Le sommet aura lieu le 10 mars.", january), Found("10 mars", "2024-03-10"));
  EXPECT_EQ(only_date("Le ministre se rendra au Japon le 10 mars.", january), Found("10 mars", "2024-03-10"));
  EXPECT_EQ(only_date("The president will visit Laos on March 10.", january), Found("March 10", "2024-03-10"));
  EXPECT_EQ(only_date("Hội nghị sắp diễn ra ngày 10/3.", january), Found("ngày 10/3", "2024-03-10"));
  // Announced in December for a January day: next year's.
  const std::optional<std::string> december = "2024-12-20";
  EXPECT_EQ(only_date("La conférence, prévue le 10 janvier, réunira vingt pays.", december),
            Found("10 janvier", "2025-01-10"));
  EXPECT_EQ(only_date("La conférence a eu lieu le 10 janvier.", december), Found("10 janvier", "2024-01-10"));
  // The tense is the sentence's own: a future in the next sentence changes nothing.
  const auto both = find_dates("Il est arrivé le 3 février. Il repartira le 20 février.", january);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].edtf, "2023-02-03");
  EXPECT_EQ(both[1].edtf, "2024-02-20");
  // A dateline still dates the dispatch itself: within six months of publication.
  EXPECT_EQ(infer_year("XXXX-03-10", january), "2024-03-10");
}

TEST(ExtractDates, WeeksMonthsAndYearsCountedFromPublication) {
  const std::optional<std::string> wednesday = "2024-06-19";
  EXPECT_EQ(only_date("Le texte a été signé cette semaine.", wednesday),
            Found("cette semaine", "2024-06-17/2024-06-23"));
  EXPECT_EQ(only_date("Ils se sont vus la semaine dernière.", wednesday),
            Found("la semaine dernière", "2024-06-10/2024-06-16"));
  EXPECT_EQ(only_date("Talks resume next week.", wednesday), Found("next week", "2024-06-24/2024-06-30"));
  EXPECT_EQ(only_date("Le bilan du mois dernier est bon.", std::optional<std::string>("2024-01-15")),
            Found("mois dernier", "2023-12"));
  EXPECT_EQ(only_date("Les exportations ont crû l'année dernière.", wednesday), Found("l'année dernière", "2023"));
  EXPECT_EQ(only_date("Les exportations ont crû l’année dernière.", wednesday), Found("l’année dernière", "2023"));
  EXPECT_EQ(only_date("Xuất khẩu tăng mạnh năm ngoái.", wednesday), Found("năm ngoái", "2023"));
  EXPECT_EQ(only_date("La délégation arrive demain.", wednesday), Found("demain", "2024-06-20"));
  EXPECT_EQ(only_date("Il a plu avant-hier.", wednesday), Found("avant-hier", "2024-06-17"));
  EXPECT_EQ(only_date("Ce mois-ci, les ventes montent.", wednesday), Found("Ce mois-ci", "2024-06"));
  // "over the past five years" names no year.
  EXPECT_TRUE(find_dates("Kinh tế tăng trưởng trong 5 năm qua.", wednesday).empty());
  EXPECT_TRUE(find_dates("Ils se sont vus la semaine dernière.", std::string("2024-06")).empty());
}

TEST(ExtractDates, NoYearAnywhere) {
  EXPECT_EQ(only_date("Il est arrivé le 6 juillet.", std::nullopt), Found("6 juillet", "XXXX-07-06"));
  EXPECT_EQ(only_date("du 10 au 13 septembre", std::nullopt), Found("du 10 au 13 septembre", "XXXX-09-10/XXXX-09-13"));
}

TEST(ExtractDates, RelativeWordsNeedAFullPublicationDay) {
  const auto found = find_dates("Hier, yesterday et hôm qua; aujourd'hui.", std::string("2024-03-01"));
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].edtf, "2024-02-29");
  EXPECT_EQ(found[1].edtf, "2024-02-29");
  EXPECT_EQ(found[2].text, "hôm qua");
  EXPECT_EQ(found[3].edtf, "2024-03-01");
  EXPECT_TRUE(find_dates("Hier, il a plu.", std::string("2024-03")).empty());
  EXPECT_TRUE(find_dates("Hier, il a plu.", std::nullopt).empty());
}

// Words in capitals, typographic apostrophes and accents read the same as their plain lower-case form,
// whether the word is plain ASCII (read without folding) or not.
TEST(ExtractDates, RelativeWordsInAnyCaseAndWithEitherApostrophe) {
  const auto found =
      find_dates("AUJOURD’HUI et DEMAIN, puis L'AN PROCHAIN et La Semaine Dernière.", std::string("2024-03-01"));
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].edtf, "2024-03-01");
  EXPECT_EQ(found[1].edtf, "2024-03-02");
  EXPECT_EQ(found[2].edtf, "2025");
  EXPECT_EQ(found[3].text, "La Semaine Dernière");
  EXPECT_EQ(found[3].edtf, "2024-02-19/2024-02-25");
}

TEST(ExtractDates, LookalikesAreNotDates) {
  const std::optional<std::string> pub = "2022-12-20";
  EXPECT_TRUE(find_dates("Le Vietnam a gagné 3-1 et joue la 1/2 finale à 10:30.", pub).empty());
  EXPECT_TRUE(find_dates("Score 2-0, puis 1/4 de finale, rendez-vous à 20h30 le 3-2.", pub).empty());
  EXPECT_TRUE(find_dates("Mai 3 fois championne, sept 10 joueurs, 45 mars.", pub).empty());
}

TEST(ExtractDates, ArticleDatesInTextOrderWithoutRepeats) {
  Article a;
  a.published = "2022-07-08";
  a.title = "Sommet le 6 juillet";
  a.body = {"Le sommet du 6 juillet (6/7/2022) a suivi la réunion du 4 juillet.", "Rappel: le 6 juillet."};
  a.dates = collect_article_dates(a);
  ASSERT_EQ(a.dates.size(), 2u);
  EXPECT_EQ(a.dates[0].edtf, "2022-07-06");
  EXPECT_EQ(a.dates[0].text, "6 juillet");
  EXPECT_EQ(a.dates[1].edtf, "2022-07-04");
  const nlohmann::json j = article_to_json(a);
  EXPECT_EQ(j["dates"][1]["text"], "4 juillet");
  EXPECT_EQ(j["dates"][1]["edtf"], "2022-07-04");
}

}  // namespace
}  // namespace vnawire::extract
