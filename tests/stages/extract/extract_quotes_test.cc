// Tests of quote reading and speaker attribution on sentences written for these tests.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entities.h"
#include "stages/extract/extract_quotes.h"
#include "tests/stages/extract/extract_test_util.h"

namespace vnawire::extract {
namespace {

using extract_testing::article_of;

using extract_testing::person;

std::vector<Quote> quotes_of(const std::vector<std::string>& body, std::vector<Person> persons) {
  Entities e;
  e.persons = std::move(persons);
  return extract_quotes(article_of(body), e);
}

TEST(ExtractQuotes, VerbAfterTheQuoteWithHonorificAlias) {
  const auto q = quotes_of({"La ministre Dang Thu Ha a visité le port de Hai Phong.",
                            "« Nos ports doivent devenir plus verts d'ici dix ans », a déclaré Mme Ha."},
                           {person("Dang Thu Ha", {"Mme Ha"}, {"ministre"})});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Dang Thu Ha");
  EXPECT_EQ(q[0].text, "Nos ports doivent devenir plus verts d'ici dix ans");
}

TEST(ExtractQuotes, VerbBeforeTheQuoteAndStraightMarks) {
  const auto q = quotes_of({"Pavel Orlov a affirmé que \"la coopération agricole reste une priorité commune\"."},
                           {person("Pavel Orlov", {"Orlov"})});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Pavel Orlov");
  EXPECT_EQ(q[0].text, "la coopération agricole reste une priorité commune");
}

TEST(ExtractQuotes, SelonAndCurlyMarks) {
  const auto q = quotes_of({"Selon Tran Quoc Binh, “les exportations de riz progresseront encore cette année”."},
                           {person("Tran Quoc Binh")});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Tran Quoc Binh");
}

TEST(ExtractQuotes, EnglishSaidBothOrders) {
  const auto q = quotes_of({"\"We will open two new consulates next spring,\" said Maria Lindqvist.",
                            "Lindqvist said \"trade between our countries has doubled since 2015\"."},
                           {person("Maria Lindqvist", {"Lindqvist"})});
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].speaker, "Maria Lindqvist");
  EXPECT_EQ(q[1].speaker, "Maria Lindqvist");
}

TEST(ExtractQuotes, PronounGoesToTheNearestPersonOfThatGender) {
  const auto q = quotes_of({"Mme Le Thi Hoa a reçu M. Karel Novak à Hanoï.",
                            "« Le tourisme entre nos deux pays a beaucoup progressé », a-t-elle souligné."},
                           {person("Le Thi Hoa", {"Mme Le Thi Hoa"}), person("Karel Novak", {"M. Karel Novak"})});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Le Thi Hoa");
}

TEST(ExtractQuotes, RoleNounGoesToItsOnlyHolder) {
  const auto q =
      quotes_of({"L'ambassadeur Jonas Berg a rencontré Vu Minh Duc, ministre de l'Industrie.",
                 "« Les deux économies sont très complémentaires », a souligné le ministre."},
                {person("Jonas Berg", {}, {"ambassadeur"}), person("Vu Minh Duc", {}, {"ministre de l'Industrie"})});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Vu Minh Duc");
}

TEST(ExtractQuotes, AttributionInTheNextSentence) {
  const auto q =
      quotes_of({"« Il faut investir davantage dans la formation des jeunes ». C'est ce qu'a déclaré Ngo Van Lam."},
                {person("Ngo Van Lam")});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Ngo Van Lam");
}

TEST(ExtractQuotes, UnknownSpeakerIsNull) {
  const auto q =
      quotes_of({"« La saison des pluies arrivera plus tôt cette année », a indiqué un responsable local."}, {});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_FALSE(q[0].speaker.has_value());
}

// Short quoted terms and long quoted titles without an attribution verb are not speech.
TEST(ExtractQuotes, TitlesAndTermsAreSkipped) {
  const auto q = quotes_of({"Le journal « Nhan Dan » a publié un article.",
                            "Une exposition intitulée « Couleurs du delta et mémoire des villages » a ouvert hier.",
                            "Il a évoqué le « miracle économique », a dit Hoang An."},
                           {person("Hoang An")});
  EXPECT_TRUE(q.empty());
}

TEST(ExtractQuotes, RelatedItemsAreNotRead) {
  Article a = article_of({"Le forum s'est tenu à Hanoï."});
  a.related.push_back({"« Nous soutenons pleinement ce projet régional », a déclaré Ha Van Son", std::nullopt});
  Entities e;
  e.persons.push_back(person("Ha Van Son"));
  EXPECT_TRUE(extract_quotes(a, e).empty());
}

TEST(ExtractQuotes, CaptionsAreRead) {
  Article a = article_of({"Le forum s'est tenu à Hanoï."});
  a.captions.push_back("« Nous soutenons pleinement ce projet régional », a déclaré Ha Van Son.");
  Entities e;
  e.persons.push_back(person("Ha Van Son"));
  const auto q = extract_quotes(a, e);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Ha Van Son");
}

TEST(ExtractQuotes, NameAndColonBeforeTheQuote) {
  const auto q = quotes_of({"Bui Thanh Tam : « La réforme administrative sera achevée avant la fin de l'année »"},
                           {person("Bui Thanh Tam")});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Bui Thanh Tam");
}

TEST(ExtractQuotes, VerbAndColonEndingThePreviousParagraph) {
  const auto q = quotes_of({"Lors de la séance de clôture, Phan Duy Khanh a déclaré :",
                            "« Chaque province devra présenter son plan de transition énergétique. »"},
                           {person("Phan Duy Khanh")});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Phan Duy Khanh");
}

// A verb whose object is something else than the quotation does not make a programme's name speech.
TEST(ExtractQuotes, AVerbFarFromTheMarksIsNotAnAttribution) {
  const auto q = quotes_of({"Dinh Cong Tuan a indiqué que la province poursuivra le programme « Un village, un "
                            "produit, une fierté »."},
                           {person("Dinh Cong Tuan")});
  EXPECT_TRUE(q.empty());
}

TEST(ExtractQuotes, EnglishPronounAndNamesInsideTheQuoteIgnored) {
  const auto q =
      quotes_of({"Deputy Minister Luong Van Kiet met Ambassador Sarah Whitfield in Hanoi.",
                 "\"We thank Sarah Whitfield for her constant support to our projects,\" he said."},
                {person("Luong Van Kiet", {}, {"Deputy Minister"}), person("Sarah Whitfield", {"Mrs Whitfield"})});
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].speaker, "Luong Van Kiet");
}

}  // namespace
}  // namespace vnawire::extract
