// Tests of the page parse: libxml2 builds the same tree from runtime::without_code(page) as from the page,
// only with script, style and comment text left out. Also guards against a libxml2 whose tokenizer differs.
#include <gtest/gtest.h>
#include <libxml/HTMLparser.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "stages/extract/extract_dom.h"
#include "stages/runtime/markup.h"

namespace vnawire::extract {
namespace {

// The parse as dom::parse_html makes it, of any bytes, without leaving anything out.
dom::DocPtr plain_parse(const std::string& html) {
  const int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                      HTML_PARSE_COMPACT | XML_PARSE_HUGE;
  const dom::QuietLibxml quiet;
  return dom::DocPtr(htmlReadMemory(html.data(), static_cast<int>(html.size()), nullptr, "UTF-8", options));
}

std::string text(const xmlChar* s) { return s == nullptr ? std::string() : reinterpret_cast<const char*>(s); }

// The first difference between the full tree and the lean one, or "": the lean one may have script and style
// elements without children, and comments without text, and nothing else may differ.
std::string first_difference(const xmlNode* full, const xmlNode* lean, bool code_parent) {
  if (code_parent && lean == nullptr) return "";
  for (; full != nullptr && lean != nullptr; full = full->next, lean = lean->next) {
    if (full->type != lean->type || text(full->name) != text(lean->name)) {
      return "node " + text(full->name) + " vs " + text(lean->name);
    }
    if (full->type == XML_COMMENT_NODE) {
      if (!text(lean->content).empty() && text(full->content) != text(lean->content)) return "comment";
      continue;
    }
    if (text(full->content) != text(lean->content)) {
      return "text '" + text(full->content) + "' vs '" + text(lean->content) + "'";
    }
    if (full->type == XML_ELEMENT_NODE) {
      const xmlAttr* a = full->properties;
      const xmlAttr* b = lean->properties;
      for (; a != nullptr && b != nullptr; a = a->next, b = b->next) {
        if (text(a->name) != text(b->name)) return "attribute " + text(a->name) + " vs " + text(b->name);
        if (std::string d = first_difference(a->children, b->children, false); !d.empty()) return d;
      }
      if (a != nullptr || b != nullptr) return "attribute count of " + text(full->name);
    }
    const bool code = full->type == XML_ELEMENT_NODE && (text(full->name) == "script" || text(full->name) == "style");
    if (std::string d = first_difference(full->children, lean->children, code); !d.empty()) return d;
  }
  if (full != nullptr || lean != nullptr) return "child count";
  return "";
}

std::string tree_difference(const std::string& page) {
  const std::optional<std::string> lean = runtime::without_code(page);
  if (!lean) return "";
  const dom::DocPtr a = plain_parse(page);
  const dom::DocPtr b = plain_parse(*lean);
  if (a == nullptr || b == nullptr) return a == b ? "" : "one parse failed";
  return first_difference(a->children, b->children, false);
}

TEST(ParseHtml, SameTreeFromTrickyMarkup) {
  const std::vector<std::string> pages = {
      "<script>a</script><p>b</p>",
      "<SCRIPT type=\"text/javascript\">if (a<b && c>d) { s = '</div>'; }</SCRIPT>after",
      "<script src=x/>text</script>tail",
      "<script src=\"x\"/>text</script>tail<style>s</style>",
      "<script/ >x</script>y<script\f>z</script>",
      "<script.x>not a script</script.x><script-x>nor this</script-x><script>y</script>",
      "<p title='<script>'>x</p><script>y</script>",
      "<div -foo=\"a>b\">c</div><script>d</script>",
      "<p class=a \"b>c<script>d</script>\">",
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://x/y>z.dtd\"><script>a</script>",
      "<!doctype html SYSTEM 'a>b'><style>x</style>",
      "text<!DOCTYPE html></p><script>a</script>",
      "<!DOCTYPE html><!DOCTYPE html></div><script>a</script>",
      "\xEF\xBB\xBF<!DOCTYPE html></p <script>x</script><p>a</p>",
      "x<!DOCTYPE html></p <script>x</script><p>a</p>",
      "<?xml version=\"1.0\"?><?php echo 1; ?><script>a</script>",
      "<? not a pi ><script>a</script>",
      "<!-- a --><!--><!---><!-- b --!><script>a</script><!---->",
      "<!--[if lt IE 9]><script src=x></script><![endif]--><p>x</p>",
      "<!--[if !IE]><!--><p>shown</p><!--<![endif]--><script>a</script>",
      "<script></script><script>   </script><style>\n</style>",
      "<svg><style>.a{}</style><script>x</script></svg>",
      "<textarea><script>a</script></textarea><title><script>b</script></title>",
      "<noscript><script>a</script></noscript>",
      "<script type=application/ld+json>{\"@type\": \"NewsArticle\", \"headline\": \"</p>\"}</script>",
      "<head><script>a</script></head><body><script>b</script>",
      "<script>x</script  ><script>y</script\n>z</script foo>",
      "<script>never closed <p>x</p>",
      "<style>never closed",
      "<script>x</script><!-- never closed",
      "<p data-a=\"unclosed <script>x</script>",
      "<</script><script><</script>",
      "<a href=x>l</a <script>x</script>",
      "é\"<<frameset<html><!doctype html SYSTEM <!-.</script></script\t<SCRIPT<img src=x/><SCRIPT</svg>",
  };
  for (const std::string& page : pages) EXPECT_EQ(tree_difference(page), "") << page;
}

TEST(ParseHtml, SameTreeFromTheSamplePages) {
  int pages = 0;
  for (const auto& entry : std::filesystem::directory_iterator(VNAWIRE_SOURCE_DIR "/examples/samples")) {
    if (entry.path().extension() != ".html") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(runtime::without_code(page).has_value()) << entry.path();
    EXPECT_EQ(tree_difference(page), "") << entry.path();
    ++pages;
  }
  EXPECT_GT(pages, 0);
}

// Pages put together from the pieces where the scanner and the parser could part ways.
TEST(ParseHtml, SameTreeFromRandomMarkup) {
  const std::vector<std::string> pieces = {"<script",
                                           "<SCRIPT",
                                           "</script",
                                           "</SCRIPT>",
                                           "</scripts>",
                                           "<style",
                                           "</style>",
                                           "</STYLE ",
                                           "<script type=application/ld+json>",
                                           "<noscript",
                                           "<body",
                                           "<frameset",
                                           "<div",
                                           "</div>",
                                           "<p",
                                           "</p>",
                                           "<a href=",
                                           "\"",
                                           "'",
                                           "=",
                                           ">",
                                           "/>",
                                           "/",
                                           " ",
                                           "\n",
                                           "<!--",
                                           "-->",
                                           "--!>",
                                           "--",
                                           "-",
                                           "!",
                                           "<!",
                                           "<!DOCTYPE",
                                           "<!doctype html",
                                           " PUBLIC ",
                                           " SYSTEM ",
                                           "<?",
                                           "<?xml",
                                           "<",
                                           "</",
                                           "<.",
                                           "<_x",
                                           "x",
                                           "if (a<b) {",
                                           "\xC3\xA9",
                                           "&amp;",
                                           "json",
                                           ".",
                                           ":",
                                           "</ ",
                                           "<html>",
                                           "<head>",
                                           "<title>",
                                           "<textarea>",
                                           "&",
                                           "\t",
                                           "<br/>",
                                           "<script src=a/>",
                                           "<script\f>",
                                           "<script.x>",
                                           "</scri",
                                           "pt>",
                                           "\xEF\xBB\xBF"};
  std::mt19937 random(6);
  for (int round = 0; round < 4000; ++round) {
    std::string page;
    const int length = 1 + static_cast<int>(random() % 40);
    for (int k = 0; k < length; ++k) page += pieces[random() % pieces.size()];
    ASSERT_EQ(tree_difference(page), "") << page;
  }
}

TEST(ParseHtml, ScriptsAndStylesAreEmptyAndJsonLdIsKept) {
  const dom::DocPtr doc = dom::parse_html(
      "<html><head><script>var x = 1;</script><style>p{}</style><script type=\"application/ld+json\">"
      "{\"headline\": \"H\"}</script></head><body><!-- c --><p>Text</p></body></html>",
      "https://example.com/a");
  ASSERT_NE(doc, nullptr);
  std::vector<std::string> scripts;
  std::string comment = "(none)";
  dom::traverse(
      xmlDocGetRootElement(doc.get()),
      [&](xmlNode* n) {
        if (dom::is_element(n, "script") || dom::is_element(n, "style")) scripts.push_back(dom::raw_text(n));
        if (n->type == XML_COMMENT_NODE) comment = text(n->content);
        return true;
      },
      [](xmlNode*) {});
  EXPECT_EQ(scripts, (std::vector<std::string>{"", "", "{\"headline\": \"H\"}"}));
  EXPECT_EQ(comment, "");
  EXPECT_EQ(dom::text_of(xmlDocGetRootElement(doc.get())), "Text");
}

TEST(ParseHtml, PagesThatAreNotUtf8AreParsedAsTheyAre) {
  // Latin-1 bytes: libxml2 finds the encoding itself, so nothing is left out.
  const dom::DocPtr doc =
      dom::parse_html("<html><body><script>var s = '\xE9';</script><p>caf\xE9</p></body></html>", "");
  ASSERT_NE(doc, nullptr);
  std::string script = "(none)";
  dom::traverse(
      xmlDocGetRootElement(doc.get()),
      [&](xmlNode* n) {
        if (dom::is_element(n, "script")) script = dom::raw_text(n);
        return true;
      },
      [](xmlNode*) {});
  EXPECT_EQ(script, "var s = '\xC3\xA9';");
}

}  // namespace
}  // namespace vnawire::extract
