// Tests of topics and countries on sentences written for these tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entities.h"
#include "stages/extract/extract_topics.h"
#include "tests/stages/extract/extract_test_util.h"

namespace vnawire::extract {
namespace {

using Strings = std::vector<std::string>;

using extract_testing::article_of;

template <typename Entity>
Entity named(std::string name, std::optional<std::string> country) {
  Entity x;
  x.name = std::move(name);
  x.country = std::move(country);
  return x;
}

using extract_testing::has;

TEST(ExtractTopics, VietnamRussiaTalksGiveBothCountriesAndDiplomacy) {
  const Article a =
      article_of({"Le Premier ministre vietnamien Tran Quoc Binh a eu des entretiens avec son "
                  "homologue russe Mikhaïl Volkov à Moscou."});
  const Entities e = extract_entities(a);
  EXPECT_EQ(extract_countries(a, e), (Strings{"VN", "RU"}));
  EXPECT_TRUE(has(extract_topics(a), "diplomacy"));
}

TEST(ExtractTopics, CountriesFollowFirstMention) {
  const Article a = article_of({"Le ministre russe Ivan Sokolov a reçu l'ambassadeur vietnamien Le Van Hai."});
  Entities e;
  e.persons = {named<Person>("Le Van Hai", "VN"), named<Person>("Ivan Sokolov", "RU")};  // not in mention order
  EXPECT_EQ(extract_countries(a, e), (Strings{"RU", "VN"}));
}

TEST(ExtractTopics, CountriesAreUniqueAndTakeOrganisationsAndPlaces) {
  const Article a = article_of({"La société Petrolia de Hanoï a ouvert un bureau à Hanoï puis à Oslo."});
  Entities e;
  e.organizations = {named<Organization>("Petrolia", "VN")};
  // A place without a country (a sea) adds nothing.
  e.places = {named<Place>("Oslo", "NO"), named<Place>("Hanoï", "VN"), named<Place>("mer de Norvège", std::nullopt)};
  EXPECT_EQ(extract_countries(a, e), (Strings{"VN", "NO"}));
}

TEST(ExtractTopics, EnergyCooperationSentenceGivesEnergy) {
  const Article a =
      article_of({"Les deux parties ont convenu de renforcer la coopération énergétique, notamment "
                  "dans le pétrole et le gaz."});
  EXPECT_EQ(extract_topics(a), (Strings{"energy"}));
}

TEST(ExtractTopics, EnglishAndVietnameseKeywords) {
  EXPECT_TRUE(
      has(extract_topics(article_of({"The two sides discussed renewable energy and a new power plant."})), "energy"));
  EXPECT_TRUE(has(extract_topics(article_of({"Hai bên thảo luận hợp tác giáo dục và đào tạo."})), "education"));
}

TEST(ExtractTopics, OneHitInTheBodyIsNotEnoughButOneInTheTitleIs) {
  EXPECT_TRUE(extract_topics(article_of({"Le ministre a visité un hôpital de la province."})).empty());
  EXPECT_EQ(extract_topics(article_of({"Le ministre a visité la province."}, "Un nouvel hôpital à Hue")),
            (Strings{"health"}));
}

TEST(ExtractTopics, MultiWordKeywordCountsOnce) {
  // "dai su quan" (embassy) is one hit, not also "dai su" (ambassador).
  EXPECT_TRUE(extract_topics(article_of({"Đại sứ quán mở cửa."})).empty());
}

TEST(ExtractTopics, EmptyArticleHasNoTopicsNorCountries) {
  const Article a;
  EXPECT_TRUE(extract_topics(a).empty());
  EXPECT_TRUE(extract_countries(a, Entities{}).empty());
}

}  // namespace
}  // namespace vnawire::extract
