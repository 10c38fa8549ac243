// Tests of the page metadata reader: each source alone, their precedence, and broken JSON-LD.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_metadata.h"

namespace vnawire::extract {
namespace {

constexpr const char* kMetadataUrl = "https://fr.example.vn/politique/visite-789.vnp";

std::string page(std::string_view head, std::string_view body) {
  return "<html><head>" + std::string(head) + "</head><body>" + std::string(body) + "</body></html>";
}

PageMetadata meta_of(const std::string& html) {
  const Article a = extract_html_page(html, kMetadataUrl);
  return a.meta.value_or(PageMetadata{});
}

TEST(ExtractMetadata, OpenGraphOnly) {
  const PageMetadata m = meta_of(
      "<html><head>"
      "<meta property=\"og:title\" content=\"Le Premier ministre reçoit l'ambassadeur\">"
      "<meta property=\"og:description\" content=\"Une rencontre à Hanoï.\">"
      "<meta property=\"og:image\" content=\"https://img.example.vn/a.jpg\">"
      "<meta property=\"og:locale\" content=\"fr_FR\">"
      "<meta property=\"og:url\" content=\"https://fr.example.vn/a\">"
      "<meta property=\"article:published_time\" content=\"2023-09-13T10:00:00+07:00\">"
      "<meta property=\"article:modified_time\" content=\"2023-09-13T12:30:00+07:00\">"
      "<meta property=\"article:section\" content=\"Politique\">"
      "<meta property=\"article:tag\" content=\"Diplomatie\">"
      "<meta property=\"article:tag\" content=\"Japon\">"
      "</head><body><p>Texte.</p></body></html>");
  const nlohmann::json expected = {{"title", "Le Premier ministre reçoit l'ambassadeur"},
                                   {"description", "Une rencontre à Hanoï."},
                                   {"published", "2023-09-13T10:00:00+07:00"},
                                   {"updated", "2023-09-13T12:30:00+07:00"},
                                   {"section", "Politique"},
                                   {"tags", {"Diplomatie", "Japon"}},
                                   {"canonical_url", "https://fr.example.vn/a"},
                                   {"image", "https://img.example.vn/a.jpg"},
                                   {"locale", "fr_FR"}};
  EXPECT_EQ(metadata_to_json(m), expected);  // no authors: Open Graph has none
}

TEST(ExtractMetadata, JsonLdGraphWithAuthorArrayWinsOverOpenGraph) {
  const PageMetadata m = meta_of(
      "<html><head>"
      "<meta property=\"og:title\" content=\"Titre Open Graph\">"
      "<meta property=\"article:published_time\" content=\"2023-09-12T08:00:00Z\">"
      "<meta name=\"author\" content=\"Rédaction\">"
      "<script type=\"application/ld+json\">{\"@context\": \"https://schema.org\", \"@graph\": ["
      "{\"@type\": \"WebSite\", \"name\": \"Le Site\", \"url\": \"https://fr.example.vn/\"},"
      "{\"@type\": [\"NewsArticle\"], \"headline\": \"Titre JSON-LD\","
      " \"datePublished\": \"2023-09-13T10:00:00+07:00\", \"dateModified\": \"2023-09-14T09:00:00+07:00\","
      " \"author\": [{\"@type\": \"Person\", \"name\": \"Nguyen Van A\"}, {\"@type\": \"Person\", \"name\": "
      "\"Tran Thi B\"}],"
      " \"articleSection\": [\"Monde\", \"Asie\"], \"keywords\": \"Vietnam, Japon\","
      " \"image\": {\"@type\": \"ImageObject\", \"url\": \"https://img.example.vn/ld.jpg\"},"
      " \"mainEntityOfPage\": {\"@type\": \"WebPage\", \"@id\": \"https://fr.example.vn/ld\"},"
      " \"inLanguage\": \"fr\"}]}</script>"
      "</head><body><p>Texte.</p></body></html>");
  // The Open Graph title and date and the plain <meta> author lose to JSON-LD's.
  const nlohmann::json expected = {{"title", "Titre JSON-LD"},
                                   {"published", "2023-09-13T10:00:00+07:00"},
                                   {"updated", "2023-09-14T09:00:00+07:00"},
                                   {"authors", {"Nguyen Van A", "Tran Thi B"}},
                                   {"section", "Monde"},
                                   {"tags", {"Vietnam", "Japon"}},
                                   {"canonical_url", "https://fr.example.vn/ld"},
                                   {"image", "https://img.example.vn/ld.jpg"},
                                   {"locale", "fr"}};
  EXPECT_EQ(metadata_to_json(m), expected);
}

TEST(ExtractMetadata, BrokenJsonLdIsSkipped) {
  const std::string head =
      "<script type=\"application/ld+json\">{\"@type\": \"NewsArticle\", \"headline\": \"Cassé\",</script>"
      "<meta property=\"og:title\" content=\"Titre Open Graph\">"
      "<meta name=\"description\" content=\"Description simple.\">";
  const nlohmann::json expected = {{"title", "Titre Open Graph"}, {"description", "Description simple."}};
  EXPECT_EQ(metadata_to_json(meta_of(page(head, "<p>Texte.</p>"))), expected);
}

TEST(ExtractMetadata, CanonicalLinkTimeAndByline) {
  const std::string body =
      "<article><p class=\"byline\">Par Le Thi C</p>"
      "<time datetime=\"2023-09-13T10:00:00+07:00\">13/09/2023</time>"
      "<time itemprop=\"dateModified\" datetime=\"2023-09-13T11:00:00+07:00\">11h</time>"
      "<a rel=\"author\" href=\"/auteurs/pham\">Pham Van D</a><p>Texte de la dépêche.</p></article>";
  const nlohmann::json expected = {{"canonical_url", "https://fr.example.vn/canon"},
                                   {"published", "2023-09-13T10:00:00+07:00"},
                                   {"updated", "2023-09-13T11:00:00+07:00"},
                                   {"authors", {"Le Thi C", "Pham Van D"}}};
  EXPECT_EQ(metadata_to_json(meta_of(page("<link rel=\"canonical\" href=\"https://fr.example.vn/canon\">", body))),
            expected);
}

TEST(ExtractMetadata, PageWithNothingHasNoMeta) {
  const Article a = extract_html_page("<html><body><p>Un paragraphe sans rien autour.</p></body></html>", kMetadataUrl);
  EXPECT_FALSE(a.meta.has_value());
  EXPECT_FALSE(article_to_json(a).contains("meta"));
}

TEST(ExtractMetadata, TextDispatchHasNoMeta) {
  const Article a = extract_text_dispatch("Un titre\n\nHanoï (VNA) - Un paragraphe de la dépêche.\n");
  EXPECT_FALSE(a.meta.has_value());
}

TEST(ExtractMetadata, JsonHoldsOnlyTheFieldsFound) {
  PageMetadata m;
  m.title = "Titre";
  m.authors = {"Nguyen Van A"};
  const nlohmann::json j = metadata_to_json(m);
  EXPECT_EQ(j, (nlohmann::json{{"title", "Titre"}, {"authors", {"Nguyen Van A"}}}));
}

TEST(ExtractMetadata, AmbiguousDatesAndLongAuthorBoxesAreLeftOut) {
  const PageMetadata m = meta_of(
      "<html><head><meta property=\"article:published_time\" content=\"13/09/2023\"></head><body>"
      "<div class=\"author\">Nguyen Van A est journaliste au service politique depuis 2010 et couvre "
      "la diplomatie vietnamienne en Asie du Sud-Est.</div><p>Texte.</p></body></html>");
  EXPECT_FALSE(m.published.has_value());
  EXPECT_TRUE(m.authors.empty());
}

TEST(ExtractMetadata, PlaceholderDatesAndCommentBylinesAreLeftOut) {
  const PageMetadata m = meta_of(page("<meta property=\"article:published_time\" content=\"0001-01-01T00:00:00Z\">",
                                      "<p>Texte.</p><ol class=\"comment-list\"><li><span class=\"author\">Ben</span>"
                                      "<time datetime=\"2023-09-14T08:00:00Z\">hier</time></li></ol>"));
  EXPECT_TRUE(m.empty());
}

TEST(ExtractMetadata, APlaceholderDateIsNoPublicationDate) {
  const Article a = extract_html_page(
      page("<meta property=\"article:published_time\" content=\"0001-01-01T00:00:00Z\">", "<p>Texte.</p>"),
      kMetadataUrl);
  EXPECT_FALSE(a.published.has_value()) << *a.published;
  const Article dated = extract_html_page(
      page("<meta property=\"article:published_time\" content=\"2023-09-13T10:00:00+07:00\">", "<p>Texte.</p>"),
      kMetadataUrl);
  EXPECT_EQ(dated.published.value_or(""), "2023-09-13");
}

}  // namespace
}  // namespace vnawire::extract
