// Tests of the entity rules (persons, roles, countries, aliases, organisations, places) on sentences written
// for these tests: none of the names below is in a gazetteer.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entities.h"
#include "stages/extract/extract_gazetteer.h"
#include "tests/stages/extract/extract_test_util.h"

namespace vnawire::extract {
namespace {

using extract_testing::article_of;

const Person* person(const Entities& e, const std::string& name) {
  for (const Person& p : e.persons) {
    if (entity_fold(p.name) == entity_fold(name)) return &p;
  }
  return nullptr;
}

using extract_testing::has;

// The person is found, serves `country` and has `role` among its roles.
void expect_person(const Entities& e, const std::string& name, const std::string& country, const std::string& role) {
  const Person* p = person(e, name);
  ASSERT_NE(p, nullptr) << name;
  EXPECT_EQ(p->country, country) << name;
  EXPECT_TRUE(has(p->roles, role)) << name << " lacks " << role;
}

TEST(ExtractEntities, UnknownPersonWithTitleBeforeAndNationality) {
  const Entities e = extract_entities(
      article_of({"Le ministre japonais de l'Économie, Kenji Watanabe, a visité une usine de semi-conducteurs."}));
  expect_person(e, "Kenji Watanabe", "JP", "ministre de l'Économie");
}

TEST(ExtractEntities, AppositionsAfterTheName) {
  const Entities e = extract_entities(article_of(
      {"Nguyen Van Hung, vice-président de l'Assemblée nationale et chef de la délégation, a rencontré à Moscou "
       "Olga Petrova, présidente de la commission des affaires internationales."},
      "Les parlements du Vietnam et de la Russie renforcent leurs liens"));
  expect_person(e, "Nguyen Van Hung", "VN", "vice-président de l'Assemblée nationale");
  expect_person(e, "Nguyen Van Hung", "VN", "chef de la délégation");
  // No adjective: the partner country the dispatch speaks of.
  expect_person(e, "Olga Petrova", "RU", "présidente de la commission des affaires internationales");
}

TEST(ExtractEntities, AmbassadorOfCountryInCountry) {
  const Entities e = extract_entities(
      article_of({"L'ambassadeur du Laos au Vietnam, Khamphone Vongsa, a remis un don à une école de Hanoï."}));
  expect_person(e, "Khamphone Vongsa", "LA", "ambassadeur du Laos au Vietnam");
}

TEST(ExtractEntities, CounterpartTakesTheRoleOfThePersonMet) {
  const Entities e = extract_entities(article_of(
      {"Le ministre vietnamien de la Santé Dao Hong Lan s'est entretenu avec son homologue cubain Ramon Portela."}));
  expect_person(e, "Dao Hong Lan", "VN", "ministre de la Santé");
  expect_person(e, "Ramon Portela", "CU", "ministre de la Santé");
}

TEST(ExtractEntities, ShortFormsAndSecondTransliterationAreAliases) {
  const Entities e = extract_entities(
      article_of({"Mme Ha Thi Nguyet, membre du Comité central, a reçu Dmitri Volkonski, gouverneur de la région.",
                  "Mme Nguyet a salué les progrès. Volkonski a répondu que Dmitry Volkonsky reviendrait en mai."}));
  ASSERT_EQ(e.persons.size(), 2u);
  const Person* nguyet = person(e, "Ha Thi Nguyet");
  ASSERT_NE(nguyet, nullptr);
  EXPECT_TRUE(has(nguyet->aliases, "Mme Nguyet"));
  const Person* dmitri = person(e, "Dmitri Volkonski");
  ASSERT_NE(dmitri, nullptr);
  EXPECT_TRUE(has(dmitri->aliases, "Volkonski"));
  EXPECT_TRUE(has(dmitri->aliases, "Dmitry Volkonsky"));
}

TEST(ExtractEntities, NameSharedByTwoPeopleIsNotMerged) {
  const Entities e = extract_entities(article_of(
      {"Le vice-ministre Le Van Nam et la directrice Pham Thi Nam ont ouvert le forum.", "Nam a présenté le bilan."}));
  ASSERT_EQ(e.persons.size(), 2u);
  for (const Person& p : e.persons) EXPECT_FALSE(has(p.aliases, "Nam")) << p.name;
}

TEST(ExtractEntities, VietnameseNamesWithAndWithoutDiacritics) {
  const Entities e = extract_entities(article_of(
      {"Le secrétaire général Tô Lâm a reçu le Premier ministre Phạm Minh Khiêm.", "To Lam a salué la coopération."}));
  const Person* lam = person(e, "Tô Lâm");
  ASSERT_NE(lam, nullptr);
  EXPECT_EQ(lam->country, "VN");
  EXPECT_TRUE(has(lam->roles, "secrétaire général"));
  const Person* khiem = person(e, "Pham Minh Khiem");
  ASSERT_NE(khiem, nullptr);
  EXPECT_TRUE(has(khiem->roles, "Premier ministre"));
  EXPECT_EQ(e.persons.size(), 2u);
}

TEST(ExtractEntities, HonorificIsNotPartOfTheName) {
  const Entities e = extract_entities(article_of({"M. Jean Dufresnel, conseiller du maire, est arrivé."}));
  ASSERT_NE(person(e, "Jean Dufresnel"), nullptr);
  EXPECT_EQ(person(e, "Jean Dufresnel")->name, "Jean Dufresnel");
}

TEST(ExtractEntities, KeyIsStableAcrossTransliterations) {
  EXPECT_EQ(person_key("Alexandre Kozyrine"), person_key("Alexander Kozyrin"));
  EXPECT_EQ(person_key("Sergueï Ivanenko"), person_key("Sergey Ivanenko"));
  EXPECT_EQ(person_key("Tô Lâm"), person_key("To Lam"));
  EXPECT_NE(person_key("Nguyen Van Anh"), person_key("Nguyen Van An"));
}

TEST(ExtractEntities, OrganisationsWithAcronymsAndCountry) {
  const Entities e = extract_entities(
      article_of({"Le Parti populaire révolutionnaire lao (PPRL) et le ministère japonais des Affaires étrangères ont "
                  "signé un accord avec l'ASEAN."}));
  auto org = [&](const std::string& name) -> const Organization* {
    for (const Organization& o : e.organizations) {
      if (entity_fold(o.name) == entity_fold(name)) return &o;
    }
    return nullptr;
  };
  const Organization* party = org("Parti populaire révolutionnaire lao");
  ASSERT_NE(party, nullptr);
  EXPECT_EQ(party->acronym, "PPRL");
  EXPECT_EQ(party->country, "LA");
  const Organization* ministry = org("ministère des Affaires étrangères");
  ASSERT_NE(ministry, nullptr);
  EXPECT_EQ(ministry->country, "JP");
  const Organization* asean = org("Association des nations de l'Asie du Sud-Est");
  ASSERT_NE(asean, nullptr);
  EXPECT_EQ(asean->acronym, "ASEAN");
}

TEST(ExtractEntities, PlacesWithCountries) {
  Article a = article_of({"Des experts de Hô Chi Minh-Ville et de Vientiane se sont réunis à Da Nang."});
  a.dateline = Dateline{"Hanoï", std::nullopt};
  const Entities e = extract_entities(a);
  auto country_of = [&](const std::string& name) -> std::optional<std::string> {
    for (const Place& p : e.places) {
      if (entity_fold(p.name) == entity_fold(name)) return p.country;
    }
    return std::string("missing");
  };
  EXPECT_EQ(country_of("Hô Chi Minh-Ville"), "VN");
  EXPECT_EQ(country_of("Vientiane"), "LA");
  EXPECT_EQ(country_of("Da Nang"), "VN");
  EXPECT_EQ(country_of("Hanoï"), "VN");
}

TEST(ExtractEntities, RelatedItemsDoNotLeak) {
  const Article a = extract_text_dispatch(
      "Le port fluvial de Can Tho s'agrandit\n"
      "Le nouveau quai du port de Can Tho a été inauguré jeudi par le vice-ministre Hoang Duc Thinh.\n"
      "Can Tho (VNA) – Le nouveau quai du port de Can Tho a été inauguré jeudi par le vice-ministre Hoang Duc "
      "Thinh, en présence d'élus locaux.\n"
      "Les travaux ont duré deux ans. -VNA\n"
      "Voir plus\n"
      "Le président cubain Ernesto Valdivia en visite au Cambodge\n"
      "Le Premier ministre Vu Quang Loc inaugure une autoroute\n");
  ASSERT_FALSE(a.related.empty());
  const Entities e = extract_entities(a);
  EXPECT_NE(person(e, "Hoang Duc Thinh"), nullptr);
  EXPECT_EQ(person(e, "Ernesto Valdivia"), nullptr);
  EXPECT_EQ(person(e, "Vu Quang Loc"), nullptr);
  for (const Place& p : e.places) EXPECT_NE(p.name, "Cambodge");
}

TEST(ExtractEntities, EnglishTitlesBeforeTheName) {
  const Entities e = extract_entities(article_of(
      {"Russian Deputy Prime Minister Alexander Novikov held talks with Vietnamese Minister of Industry and Trade "
       "Nguyen Hong Dien in Moscow."}));
  expect_person(e, "Alexander Novikov", "RU", "Deputy Prime Minister");
  expect_person(e, "Nguyen Hong Dien", "VN", "Minister of Industry and Trade");
  EXPECT_EQ(e.persons.size(), 2u);
}

TEST(ExtractEntities, VietnameseTitlesAndCountry) {
  const Entities e = extract_entities(
      article_of({"Tổng Bí thư Tô Lâm đã tiếp Đại sứ Liên bang Nga tại Việt Nam Gennady Bezdetko tại Hà Nội."}));
  expect_person(e, "Tô Lâm", "VN", "Tổng Bí thư");
  expect_person(e, "Gennady Bezdetko", "RU", "Đại sứ Liên bang Nga tại Việt Nam");
  EXPECT_EQ(e.persons.size(), 2u);
}

TEST(ExtractEntities, UnknownForeignPlaceAfterPreposition) {
  const Entities e =
      extract_entities(article_of({"Le forum s'est tenu à Luang Prabang en présence de Nguyen Van Tam."}));
  EXPECT_TRUE(std::any_of(e.places.begin(), e.places.end(), [](const Place& p) { return p.name == "Luang Prabang"; }));
  EXPECT_EQ(person(e, "Luang Prabang"), nullptr);
  EXPECT_NE(person(e, "Nguyen Van Tam"), nullptr);
}

TEST(ExtractEntities, GivenNameThatIsAProvinceStaysInTheName) {
  const Entities e = extract_entities(
      article_of({"Le vice-ministre de la Construction Dang Thai Binh a visité la province de Thai Binh."}));
  expect_person(e, "Dang Thai Binh", "VN", "vice-ministre de la Construction");
  EXPECT_TRUE(std::any_of(e.places.begin(), e.places.end(), [](const Place& p) { return p.name == "Thai Binh"; }));
  EXPECT_EQ(e.persons.size(), 1u);
}

TEST(ExtractEntities, VietnamesePlaceOfTwoSyllablesAfterPreposition) {
  const Entities e = extract_entities(article_of({"Le terminal de Vinh Tan accueillera des méthaniers dès mai."}));
  EXPECT_TRUE(e.persons.empty());
  ASSERT_FALSE(e.places.empty());
  EXPECT_EQ(e.places.front().name, "Vinh Tan");
  EXPECT_EQ(e.places.front().country, "VN");
}

TEST(ExtractEntities, VietnameseBodyAndTitleBeforeTheName) {
  const Entities e = extract_entities(
      article_of({"Phó Giám đốc Sở Xây dựng Đà Nẵng Hồ Văn Kỳ cho biết dự án sẽ hoàn thành trong năm nay."}));
  expect_person(e, "Hồ Văn Kỳ", "VN", "Phó Giám đốc Sở Xây dựng Đà Nẵng");
  ASSERT_EQ(e.organizations.size(), 1u);
  EXPECT_EQ(e.organizations.front().name, "Sở Xây dựng Đà Nẵng");
}

TEST(ExtractEntities, ParticlesInForeignNames) {
  const Entities e = extract_entities(
      article_of({"La commissaire européenne Margarethe van der Stolk a rencontré des entrepreneurs à Hanoï."}));
  const Person* p = person(e, "Margarethe van der Stolk");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(has(p->roles, "commissaire européenne"));
}

TEST(ExtractEntities, VietnameseSyllablesWithoutFamilyNameOrTitleAreNoPerson) {
  const Entities e = extract_entities(
      article_of({"Les vols vers Tan Son Nhat ont repris. Le festival Ao Dai a attiré Nguyen Thanh Tung, peintre."}));
  ASSERT_EQ(e.persons.size(), 1u);
  EXPECT_EQ(e.persons.front().name, "Nguyen Thanh Tung");
}

TEST(ExtractEntities, NationalityAdjectiveInsideTheRole) {
  const Entities e =
      extract_entities(article_of({"Le président du Sénat cambodgien Hun Sen a reçu une délégation vietnamienne."}));
  expect_person(e, "Hun Sen", "KH", "président du Sénat");
}

TEST(ExtractEntities, FormerTitlesProfessionsAndNamesThatOpenWithAnAcronym) {
  const Entities e = extract_entities(
      article_of({"Selon Pierre Vasseur, ancien ministre français de la Culture, le roman de l'écrivain Tran Thu Ha a "
                  "été salué aux Nations unies. Les ASEAN Para Games auront lieu à Phnom Penh."}));
  expect_person(e, "Pierre Vasseur", "FR", "ancien ministre de la Culture");
  expect_person(e, "Tran Thu Ha", "VN", "écrivain");
  ASSERT_EQ(e.organizations.size(), 1u);
  EXPECT_EQ(e.organizations.front().name, "Nations unies");
  EXPECT_EQ(e.organizations.front().acronym, "ONU");
}

TEST(ExtractEntities, EnglishNamesOfBodies) {
  const Entities e = extract_entities(article_of(
      {"He thanked the Communist Party of Vietnam (CPV), the Ministry of Planning and Investment and the Lao "
       "Ministry of Finance."}));
  auto org = [&](const std::string& name) {
    return std::find_if(e.organizations.begin(), e.organizations.end(),
                        [&](const Organization& o) { return o.name == name; });
  };
  ASSERT_NE(org("Communist Party of Vietnam"), e.organizations.end());
  EXPECT_EQ(org("Communist Party of Vietnam")->acronym, "CPV");
  EXPECT_NE(org("Ministry of Planning and Investment"), e.organizations.end());
  ASSERT_NE(org("Ministry of Finance"), e.organizations.end());
  EXPECT_EQ(org("Ministry of Finance")->country, "LA");
}

TEST(ExtractEntities, RunawayPageIsReadOnlyToABound) {
  std::vector<std::string> body(20000,
                                "Le ministre du Commerce Nguyen Van Lam a rencontré Ivan Petrov, directeur "
                                "de la Banque centrale, à Hanoï (BCR).");
  const Entities e = extract_entities(article_of(std::move(body)));
  EXPECT_EQ(e.persons.size(), 2u);
  EXPECT_EQ(e.organizations.size(), 2u);  // "Banque centrale", and "BCR" that does not follow it
}

}  // namespace
}  // namespace vnawire::extract
