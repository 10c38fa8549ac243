// Tests of the HTML extractor on a page written for these tests, and on hostile pages.
#include <gtest/gtest.h>

#include <string>

#include "extract_test_util.h"
#include "stages/extract/extract_article.h"

namespace vnawire::extract {
namespace {

constexpr const char* kUrl = "https://fr.example.vn/tourisme/mu-cang-chai-456.vnp";

TEST(ExtractHtml, MetadataTitleLeadAndDate) {
  const std::string html = extract_testing::read_fixture("page.html");
  ASSERT_FALSE(html.empty());
  const Article a = extract_html_page(html, kUrl);
  EXPECT_EQ(a.title, "Les rizières en terrasses de Mu Cang Chai attirent les randonneurs");
  EXPECT_EQ(a.published, "2023-09-21");
  EXPECT_EQ(a.lead,
            "La saison de la récolte attire chaque automne des milliers de randonneurs dans le district "
            "montagneux.");
}

TEST(ExtractHtml, ParagraphsOfTheArticleOnly) {
  const Article a = extract_html_page(extract_testing::read_fixture("page.html"), kUrl);
  ASSERT_EQ(a.body.size(), 3u);
  EXPECT_EQ(a.body[0], "Les autorités du district ont ouvert cette année quatre nouveaux sentiers balisés.");
  EXPECT_EQ(a.body[1], "Les familles Hmong proposent des chambres chez l'habitant et des repas à base de riz gluant.");
  EXPECT_EQ(a.body[2], "Le festival de la récolte aura lieu fin septembre.");
  ASSERT_TRUE(a.dateline.has_value());
  EXPECT_EQ(a.dateline->place, "Yen Bai");
  ASSERT_EQ(a.captions.size(), 1u);
  EXPECT_EQ(a.captions[0], "Des rizières dorées au début de la récolte.");
  ASSERT_EQ(a.related.size(), 1u);
  EXPECT_EQ(a.related[0].title, "Ha Giang ouvre la saison des fleurs de sarrasin");
  EXPECT_EQ(a.related[0].url, "https://fr.example.vn/tourisme/ha-giang-123.vnp");
}

TEST(ExtractHtml, SapoDivAndPictureTableCaption) {
  const Article a = extract_html_page(
      "<html><body><div class=\"article__sapo\">Un chapeau qui résume la dépêche en une phrase.</div>"
      "<div class=\"leaderboard\">Un bandeau publicitaire assez long pour tromper.</div>"
      "<div class=\"article__body\"><table class=\"picture\"><tr><td class=\"caption\"><p>Une légende sans "
      "crédit</p></td></tr></table><p>Premier paragraphe du corps.</p><p>Second paragraphe du corps.</p></div>"
      "</body></html>",
      "");
  EXPECT_EQ(a.lead, "Un chapeau qui résume la dépêche en une phrase.");
  ASSERT_EQ(a.captions.size(), 1u);
  EXPECT_EQ(a.captions[0], "Une légende sans crédit");
  ASSERT_EQ(a.body.size(), 2u);
  EXPECT_EQ(a.body[0], "Premier paragraphe du corps.");
}

TEST(ExtractHtml, TitleFallbacks) {
  const Article h1 = extract_html_page("<html><body><h1>Un titre de page</h1><p>Un paragraphe.</p></body></html>", "");
  EXPECT_EQ(h1.title, "Un titre de page");
  const Article tag = extract_html_page(
      "<html><head><title>Le titre du document | Le Site</title></head><body><p>Texte.</p></body></html>", "");
  EXPECT_EQ(tag.title, "Le titre du document");
  const Article ld = extract_html_page(
      "<html><head><script type=\"application/ld+json\">{\"@graph\":[{\"@type\":\"NewsArticle\","
      "\"datePublished\":\"2022-05-04T10:00:00Z\"}]}</script></head><body><p>Texte.</p></body></html>",
      "");
  EXPECT_EQ(ld.published, "2022-05-04");
}

TEST(ExtractHtml, BadPagesDoNotCrash) {
  for (const std::string& page : {std::string(), std::string("<<<>>>"), std::string("\xff\xfe\x00<p>x", 7),
                                  std::string("<p>caf\xe9 cr\xe8me</p>"), std::string("<html><body><p>")}) {
    const Article a = extract_html_page(page, "not a url");
    EXPECT_FALSE(a.title.has_value() && a.title->empty());
  }
}

TEST(ExtractHtml, DeeplyNestedPageDoesNotBlowTheStack) {
  std::string page = "<html><body>";
  for (int i = 0; i < 50000; ++i) page += "<div>";
  page += "<p>Texte enfoui très profondément.</p>";
  for (int i = 0; i < 50000; ++i) page += "</div>";
  page += "</body></html>";
  const Article a = extract_html_page(page, "");
  // libxml2 gives up past its depth limit; what matters is that we return.
  EXPECT_LE(a.body.size(), 1u);
  std::string spans = "<p>";
  for (int i = 0; i < 50000; ++i) spans += "<span><b>";
  spans += "fin";
  const Article b = extract_html_page(spans, "");
  EXPECT_LE(b.body.size(), 1u);
}

TEST(ExtractHtml, ModeratelyNestedContentIsRead) {
  std::string page = "<html><body>";
  for (int i = 0; i < 150; ++i) page += "<div>";
  page += "<p>Un paragraphe niché dans cent cinquante blocs.</p>";
  for (int i = 0; i < 150; ++i) page += "</div>";
  page += "</body></html>";
  const Article a = extract_html_page(page, "");
  ASSERT_EQ(a.body.size(), 1u);
  EXPECT_EQ(a.body[0], "Un paragraphe niché dans cent cinquante blocs.");
}

}  // namespace
}  // namespace vnawire::extract
