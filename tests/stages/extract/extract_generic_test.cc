// Tests of the generic main-text extractor on small pages written for these tests, and on hostile input.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_generic.h"

namespace vnawire::extract {
namespace {

bool has_block_containing(const std::vector<std::string>& blocks, const std::string& needle) {
  return std::any_of(blocks.begin(), blocks.end(),
                     [&](const std::string& b) { return b.find(needle) != std::string::npos; });
}

// A blog-like page: menu, sidebar, share bar, comments and related links around the article.
constexpr const char* kPage = R"(<!DOCTYPE html><html><head><title>Harbour reopens</title>
<style>p { color: red }</style><script>var tracking = "Do not read this script text";</script></head>
<body>
<div id="top-menu"><ul><li><a href="/">Home</a></li><li><a href="/world">World news and more</a></li>
<li><a href="/sport">Sport results of the day</a></li></ul></div>
<nav><a href="/a">Navigation link that is long enough to count as text</a></nav>
<div class="layout">
 <div class="main-column">
  <h1>The harbour reopens after two years of works</h1>
  <div class="share-bar"><a href="#">Share on the social network of your choice</a></div>
  <div class="entry-content">
   <p>The old harbour of the city reopened on Monday, after two years of works, a long dispute over the
   budget and several delays caused by storms, floods and the shortage of materials.</p>
   <h2>A new quay for ferries</h2>
   <p>The new quay can take three ferries at once, the port authority said, and it will shorten the
   waiting time of passengers, lorries and cars during the summer season by about half.</p>
   <ul><li>Three berths for ferries, each with its own ramp</li><li>A covered waiting hall for passengers</li></ul>
   <p>Fishermen, who had moved to the next town during the works, said they would come back in spring,
   once the new market hall, the ice plant and the fuel station are open.</p>
   <form><input name="q"><p>Sign up for our newsletter, it is free and arrives every morning.</p></form>
  </div>
  <div id="comments"><p>Great news, finally, I have been waiting for this for years, thank you, really.</p>
  <p>Another comment, with commas, many commas, and a long text that should never be taken.</p></div>
  <div class="related-stories"><ul><li><a href="/x">Ferry prices rise again, as fuel gets dearer, in the region</a></li>
  <li><a href="/y">Storms, floods and delays: the year of the harbour in pictures</a></li></ul></div>
 </div>
 <aside class="sidebar"><p>Most read, with commas, in the sidebar: a paragraph of text, long enough to score.</p></aside>
</div>
<footer><p>Copyright, all rights reserved, the newspaper company, 2024, some address, some town.</p></footer>
</body></html>)";

TEST(ExtractGeneric, KeepsArticleHeadingsAndListsAndDropsFurniture) {
  const std::vector<std::string> blocks = extract_generic_text(kPage);
  ASSERT_FALSE(blocks.empty());
  EXPECT_TRUE(blocks.front().rfind("The old harbour of the city reopened on Monday", 0) == 0) << blocks.front();
  EXPECT_TRUE(has_block_containing(blocks, "A new quay for ferries"));
  EXPECT_TRUE(has_block_containing(blocks, "Three berths for ferries"));
  EXPECT_TRUE(has_block_containing(blocks, "once the new market hall"));
  for (const char* furniture :
       {"Home", "Navigation link", "Share on", "newsletter", "Great news", "Another comment", "Ferry prices",
        "Most read", "Copyright", "tracking", "color: red", "The harbour reopens after two years"}) {
    EXPECT_FALSE(has_block_containing(blocks, furniture)) << furniture;
  }
}

TEST(ExtractGeneric, HtmlPathUsesItForPagesThatAreNotVnaLayout) {
  const Article a = extract_html_page(kPage, "https://news.example.com/harbour");
  ASSERT_FALSE(a.body.empty());
  EXPECT_TRUE(has_block_containing(a.body, "A new quay for ferries"));
  EXPECT_FALSE(has_block_containing(a.body, "Another comment"));
}

std::string nested_page(int depth) {
  std::string page = "<html><body>";
  for (int i = 0; i < depth; ++i) page += "<div>";
  page += "<p>A paragraph at the very bottom of a deeply nested page, with commas, so that it scores.</p>";
  for (int i = 0; i < depth; ++i) page += "</div>";
  return page + "</body></html>";
}

TEST(ExtractGeneric, DeeplyNestedPagesAreReadWhole) {
  // libxml2's default cap (256 levels, the rest of the page dropped) is lifted, and every walk is
  // iterative: a page nested 100,000 deep is read like a flat one, without a stack overflow.
  for (const int depth : {200, 300, 100000}) {
    const std::vector<std::string> blocks = extract_generic_text(nested_page(depth));
    ASSERT_EQ(blocks.size(), 1u) << depth;
    EXPECT_EQ(blocks[0], "A paragraph at the very bottom of a deeply nested page, with commas, so that it scores.");
  }
}

TEST(ExtractGeneric, EmptyAndGarbageInputGiveNothing) {
  EXPECT_TRUE(extract_generic_text(std::string_view()).empty());
  EXPECT_TRUE(extract_generic_text(std::string("\0\0\0binary\x01\x02\x03", 12)).empty());
  EXPECT_TRUE(extract_generic_text("<<<>>></p></div><div <a href=").empty());
  EXPECT_TRUE(extract_generic_text("<html><body><nav><p>Only a menu, with commas, and nothing else at all.</p>"
                                   "</nav></body></html>")
                  .empty());
  EXPECT_TRUE(extract_generic_text(static_cast<_xmlNode*>(nullptr)).empty());
}

TEST(ExtractGeneric, PlainTextWithoutMarkupIsOneBlock) {
  const std::vector<std::string> blocks = extract_generic_text(
      "Just a line of text, with commas, and no markup at all, long enough to be scored as a paragraph.");
  ASSERT_LE(blocks.size(), 1u);
}

}  // namespace
}  // namespace vnawire::extract
