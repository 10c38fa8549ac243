// Tests of dateline, date and credit recognition, and of the article's JSON form.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_common.h"
#include "stages/extract/extract_dateline.h"

namespace vnawire::extract {
namespace {

TEST(ExtractDateline, PlaceAndSeparators) {
  const std::string para = "Moscou (VNA) – Le texte commence.";
  const auto m = match_dateline(para);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->place, "Moscou");
  EXPECT_FALSE(m->date.has_value());
  EXPECT_EQ(para.substr(m->text_start), "Le texte commence.");

  const std::string glued = "Hanoï, 6 juillet(VNA)\u00a0 - Le texte.";
  const auto g = match_dateline(glued);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->place, "Hanoï");
  EXPECT_EQ(g->date, "XXXX-07-06");
  EXPECT_EQ(glued.substr(g->text_start), "Le texte.");

  const auto vn = match_dateline("Hà Nội, ngày 6/7 (TTXVN) - Nội dung.");
  ASSERT_TRUE(vn.has_value());
  EXPECT_EQ(vn->place, "Hà Nội");
  EXPECT_EQ(vn->date, "XXXX-07-06");

  const auto en = match_dateline("Washington, D.C., July 6, 2023 (VNA) - Text.");
  ASSERT_TRUE(en.has_value());
  EXPECT_EQ(en->place, "Washington, D.C.");
  EXPECT_EQ(en->date, "2023-07-06");
}

TEST(ExtractDateline, SentencesAreNotDatelines) {
  EXPECT_FALSE(match_dateline("Le ministre a salué le rôle de l'agence de presse (VNA) dans la région.").has_value());
  EXPECT_FALSE(match_dateline("Moscou – Le texte sans agence.").has_value());
  EXPECT_FALSE(match_dateline("").has_value());
}

TEST(ExtractDateline, LooseDates) {
  EXPECT_EQ(parse_loose_date("6 juillet"), "XXXX-07-06");
  EXPECT_EQ(parse_loose_date("1er décembre 2022"), "2022-12-01");
  EXPECT_EQ(parse_loose_date("le 14 sept."), "XXXX-09-14");
  EXPECT_EQ(parse_loose_date("July 6"), "XXXX-07-06");
  EXPECT_EQ(parse_loose_date("6 de julio de 2023"), "2023-07-06");
  EXPECT_EQ(parse_loose_date("06/07/2023"), "2023-07-06");
  EXPECT_EQ(parse_loose_date("2023-07-06"), "2023-07-06");
  EXPECT_FALSE(parse_loose_date("32 juillet").has_value());
  EXPECT_FALSE(parse_loose_date("capitale").has_value());
}

TEST(ExtractDateline, DateHeaderAndYear) {
  const auto h = match_date_header(" date 2024-01 Le chapeau.");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->first, "2024-01");
  EXPECT_EQ(std::string(" date 2024-01 Le chapeau.").substr(h->second), "Le chapeau.");
  EXPECT_FALSE(match_date_header("Datation des fossiles").has_value());
  EXPECT_EQ(infer_year("XXXX-12-28", std::string("2024-01")), "2023-12-28");
  EXPECT_EQ(infer_year("XXXX-01-20", std::string("2024-01")), "2024-01-20");
  EXPECT_EQ(infer_year("XXXX-01-20", std::nullopt), "XXXX-01-20");
}

TEST(ExtractCredit, CaptionCreditAndGluedParagraph) {
  auto c = find_credit("Des marins au port. Photo : VNA");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->caption, "Des marins au port.");
  EXPECT_TRUE(c->rest.empty());
  c = find_credit("Une vue du fleuve. Photo : Thanh Tung/VNA La navigation reprend demain.");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->caption, "Une vue du fleuve.");
  EXPECT_EQ(c->rest, "La navigation reprend demain.");
  c = find_credit("Les délégués (Ảnh: TTXVN)");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->caption, "Les délégués");
  // "Source:" opens ordinary sentences too: only an agency-like credit counts.
  EXPECT_FALSE(find_credit("Source: le ministère des Finances a publié des chiffres.").has_value());
  EXPECT_FALSE(find_credit("Une exposition de photos sur le fleuve").has_value());
  // Labels are tried only at the line's start and after a space or a bracket, found sixteen bytes at a
  // time: at every offset across two blocks, and never inside a word.
  c = find_credit("Photo : VNA");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->caption, "");
  for (std::size_t n = 1; n <= 40; ++n) {
    c = find_credit(std::string(n, 'a') + " Photo : VNA");
    ASSERT_TRUE(c.has_value()) << n;
    EXPECT_EQ(c->caption, std::string(n, 'a')) << n;
    c = find_credit(std::string(n, 'a') + " (photo: VNA)");
    ASSERT_TRUE(c.has_value()) << n;
    EXPECT_EQ(c->caption, std::string(n, 'a')) << n;
    EXPECT_FALSE(find_credit(std::string(n, 'a') + "Photo : VNA").has_value()) << n;
  }
}

TEST(ExtractCredit, SignatureAndMarkers) {
  EXPECT_EQ(strip_signature("Fin du texte. -VNA"), "Fin du texte.");
  EXPECT_EQ(strip_signature("Fin du texte.- VNA"), "Fin du texte.");
  EXPECT_EQ(strip_signature("End of text./."), "End of text.");
  EXPECT_EQ(strip_signature("-VNA"), "");
  EXPECT_EQ(strip_signature("Fin du texte. – VNA/CVN"), "Fin du texte.");
  EXPECT_EQ(strip_signature("Fin du texte. -TTXVN"), "Fin du texte.");
  EXPECT_FALSE(strip_signature("Un sommet UE-ASEAN").has_value());
  EXPECT_FALSE(strip_signature("Fin du texte. - AFP").has_value());
  EXPECT_FALSE(strip_signature("Le partenariat Vietnam-Russie").has_value());
  EXPECT_TRUE(is_related_marker("Voir plus"));
  EXPECT_TRUE(is_related_marker("Xem thêm"));
  EXPECT_TRUE(is_related_marker("Ver más"));
  EXPECT_FALSE(is_related_marker("Voir plus loin que demain"));
  EXPECT_TRUE(is_debris_line("source"));
}

TEST(ExtractArticleJson, ContractShape) {
  Article a;
  a.title = "Titre";
  a.body = {"Un.", "Deux."};
  a.related.push_back({"Autre", std::nullopt});
  nlohmann::json j = article_to_json(a);
  EXPECT_EQ(j["title"], "Titre");
  EXPECT_TRUE(j["lead"].is_null());
  EXPECT_TRUE(j["published"].is_null());
  EXPECT_TRUE(j["dateline"].is_null());
  EXPECT_EQ(j["body"].size(), 2u);
  EXPECT_TRUE(j["captions"].is_array());
  EXPECT_EQ(j["related"][0]["title"], "Autre");
  EXPECT_TRUE(j["related"][0]["url"].is_null());
  a.dateline = Dateline{std::string("Hanoï"), std::nullopt};
  j = article_to_json(a);
  EXPECT_EQ(j["dateline"]["place"], "Hanoï");
  EXPECT_TRUE(j["dateline"]["date"].is_null());
  EXPECT_EQ(article_to_json(Article{})["body"], nlohmann::json::array());
}

}  // namespace
}  // namespace vnawire::extract
