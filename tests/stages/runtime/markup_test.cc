// The HTML scanners: what langid and dedupe read of a page, and the page extract parses.
#include "stages/runtime/markup.h"

#include <gtest/gtest.h>

namespace vnawire::runtime {
namespace {

TEST(VisibleText, ScriptsStylesAndCommentsAreHiddenInAnyCase) {
  const std::string text = visible_text(
      "<P>alpha<SCRIPT type=x>bad1</SCRIPT>beta<Script>bad2</sCrIpT>gamma<STYLE>bad3</Style>"
      "delta<!-- bad4 -->epsilon<style media=all>bad5</STYLE ></P>zeta");
  for (const char* hidden : {"bad1", "bad2", "bad3", "bad4", "bad5"}) {
    EXPECT_EQ(text.find(hidden), std::string::npos) << hidden << " leaked into: " << text;
  }
  for (const char* seen : {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}) {
    EXPECT_NE(text.find(seen), std::string::npos) << seen;
  }
}

TEST(VisibleText, BlockTagsEndLinesAndOtherTagsSeparateWords) {
  EXPECT_EQ(visible_text("<div>one<b>two</b></div><BR/>three<span>four</span><Li>five"),
            "\none two \n\nthree four \nfive");
  // Each block name in any case, opening and closing, with attributes or none; a name that only starts
  // like one, or runs on past it, is not one.
  for (const std::string name : {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "figcaption",
                                 "figure", "section", "article", "FIGCAPTION", "Section"}) {
    EXPECT_EQ(visible_text("a<" + name + " class=\"x\">b</" + name + ">c"), "a\nb\nc") << name;
    EXPECT_EQ(visible_text("a<" + name + "/>b<" + name + "\n>c<" + name), "a\nb\nc\n") << name;
  }
  for (const std::string name : {"pre", "p-x", "h7", "h1x", "figcaptions", "sections", "b", "span", "articles"}) {
    EXPECT_EQ(visible_text("a<" + name + ">b</" + name + ">c"), "a b c") << name;
  }
}

TEST(VisibleText, TagsThatOnlyStartLikeScriptAreOrdinary) {
  // <scripture> and <styles> are not script or style: their text stays.
  EXPECT_EQ(visible_text("<scripture>kept</scripture><styles>too</styles>"), " kept  too ");
}

TEST(VisibleText, UnclosedScriptOrCommentHidesTheRestAndNeverFails) {
  EXPECT_EQ(visible_text("shown<script>var x = 1;"), "shown ");
  EXPECT_EQ(visible_text("shown<!-- never closed"), "shown ");
  EXPECT_EQ(visible_text("shown<p"), "shown\n");
  EXPECT_EQ(visible_text(""), "");
}

// without_code: what it leaves out, what it keeps, and where it gives the page back unchanged. The
// libxml2 side (the same tree from both) is checked in tests/stages/extract/extract_dom_test.cc.
TEST(WithoutCode, LeavesOutTheTextOfCodeAndCommentsOnly) {
  struct Case {
    const char* page;
    const char* lean;
  };
  const Case cases[] = {
      // Tags stay, in any case; their text goes.
      {"<P>a<SCRIPT type=x>1</SCRIPT>b<Script>2</sCrIpT>c<STYLE>3</Style>d<!-- 4 -->e<style media=all>5</STYLE >f",
       "<P>a<SCRIPT type=x></SCRIPT>b<Script></sCrIpT>c<STYLE></Style>d<!---->e<style media=all></STYLE >f"},
      // JSON data blocks are read (JSON-LD), and so is a script whose type may be spelled with an entity.
      {"<script type=\"application/ld+json\">{\"headline\": \"</div>\"}</script><script>x()</script>",
       "<script type=\"application/ld+json\">{\"headline\": \"</div>\"}</script><script></script>"},
      {"<SCRIPT TYPE='APPLICATION/JSON'>{}</SCRIPT><script "
       "type=\"application/ld+js&#111;n\">{}</script><script>x</script>",
       "<SCRIPT TYPE='APPLICATION/JSON'>{}</SCRIPT><script "
       "type=\"application/ld+js&#111;n\">{}</script><script></script>"},
      // As in the parser, "</script" inside a string ends the script; "</div>" inside it does not.
      {"<script>var s = '</div><p>';</script><p>after</p>", "<script></script><p>after</p>"},
      {"<script>document.write('<b>x</script>');</script>tail", "<script></script>');</script>tail"},
      {"<style>a::after { content: '</p>'; }</style>kept", "<style></style>kept"},
      // Attribute values are not markup; a quote that does not follow '=' opens nothing.
      {"<a title=\"<script>x</script>\">t</a><script>y</script>",
       "<a title=\"<script>x</script>\">t</a><script></script>"},
      {"<p data-x='<!--'>t</p><!--c-->", "<p data-x='<!--'>t</p><!---->"},
      {"<p class=a \"b>c<script>d</script>\">", "<p class=a \"b>c<script></script>\">"},
      // A comment ends at the first "-->" or "--!>"; conditional comments are comments.
      {"<!--[if IE]><script>x</script><![endif]-->t", "<!---->t"},
      {"<!-- a --!>t<!---->u<!-- <script> -->v", "<!----!>t<!---->u<!---->v"},
      {"<script>'<!--'</script>t", "<script></script>t"},
      // What is never closed hides the rest of the page, as in the parser.
      {"a<script>never closed <p>x</p>", "a<script>"},
      {"a<style>never closed", "a<style>"},
      {"<script>x</script>a<!-- never closed <script>y</script>",
       "<script></script>a<!-- never closed <script>y</script>"},
      {"<script>x</script><p title=\"never <script>y</script>", "<script></script><p title=\"never <script>y</script>"},
      // "/>" closes a script only after a quoted value or a blank: "a.js/" is a bare value.
      {"<script src=a.js/>text<script src=b.js />more</script>", "<script src=a.js/></script>"},
      {"<script src=\"a.js\"/>text</script><style>s</style>", "<script src=\"a.js\"/>text</script><style></style>"},
      // DOCTYPE identifiers and processing instructions are skipped whole.
      {"<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\" \"x>y\"><script>a</script>",
       "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\" \"x>y\"><script></script>"},
      {"<?xml version=\"1.0\"?><script>a</script>", "<?xml version=\"1.0\"?><script></script>"},
      // A DOCTYPE inside the content makes the '<' after it text: "</p>" there is no end tag.
      {"<p>x<!DOCTYPE html></p><script>a</script>", "<p>x<!DOCTYPE html></p><script></script>"},
  };
  for (const Case& c : cases) EXPECT_EQ(without_code(c.page).value_or("(unchanged)"), c.lean) << c.page;
}

TEST(WithoutCode, GivesUpWhereTheParserMightReadItOtherwise) {
  EXPECT_EQ(without_code("<script>a</scripts>b</script>"), std::nullopt);
  EXPECT_EQ(without_code("<script></div>x</script>"), std::nullopt);
  EXPECT_EQ(without_code("<script><noscript>x</script>"), std::nullopt);
  EXPECT_EQ(without_code("<style><body>x</style>"), std::nullopt);
  EXPECT_EQ(without_code("<!DOCTYPE ht\xC3\xA9ml><script>x</script>"), std::nullopt);
  EXPECT_EQ(without_code("<?\xC3\xA9 x><script>x</script>"), std::nullopt);
  EXPECT_EQ(without_code("<p>nothing to leave out</p><script></script><!---->"), std::nullopt);
  EXPECT_EQ(without_code(""), std::nullopt);
}

TEST(WithoutCode, LeavesTheVisibleTextAsItWas) {
  const std::string page = std::string("<!DOCTYPE html><html><head><title>T</title><style>.a{}</style>") +
                           "<script>var a = '<p>';</script><script type=application/ld+json>{}</script></head>" +
                           "<body><!-- menu --><div class=x>Hello <b>world</b></div><SCRIPT>x()</SCRIPT>" +
                           "<p>Tiếng Việt &amp; français</p><noscript>enable JS</noscript></body></html>";
  const std::optional<std::string> stripped = without_code(page);
  ASSERT_TRUE(stripped.has_value());
  EXPECT_LT(stripped->size(), page.size());
  EXPECT_EQ(visible_text(*stripped), visible_text(page));
}

}  // namespace
}  // namespace vnawire::runtime
