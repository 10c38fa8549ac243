// Tests of date expressions found in an article's text and their EDTF form.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_dateline.h"
#include "stages/extract/extract_dates.h"

namespace vnawire::extract {
namespace {

// The one date a sentence holds, as {text, edtf}; both empty when there is not exactly one.
std::pair<std::string, std::string> only_date(std::string_view text, std::optional<std::string> published) {
  const auto found = find_dates(text, published);
  if (found.size() != 1) return {};
  return {found[0].text, found[0].edtf};
}

using Found = std::pair<std::string, std::string>;

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
  // Only the month is known: a month more than six months later is last year's.
  EXPECT_EQ(only_date("le 6 octobre", std::optional<std::string>("2024-03")), Found("6 octobre", "2023-10-06"));
}

TEST(ExtractDates, YearInferredAsForTheDateline) {
  // One rule for a year-less date wherever it is written: the year that puts it within six months of
  // publication, so an announced event keeps the publication year.
  const std::optional<std::string> pub = "2024-01-15";
  EXPECT_EQ(only_date("Le sommet aura lieu le 10 mars.", pub), Found("10 mars", "2024-03-10"));
  for (int month = 1; month <= 12; ++month) {
    const std::string written = "XXXX-" + std::string(month < 10 ? "0" : "") + std::to_string(month) + "-20";
    const std::string text = "ngày 20/" + std::to_string(month);
    EXPECT_EQ(only_date(text, std::optional<std::string>("2024-05-10")).second,
              infer_year(written, std::optional<std::string>("2024-05-10")))
        << text;
  }
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
