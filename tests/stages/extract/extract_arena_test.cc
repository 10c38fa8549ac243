// Tests of the parse arenas: documents stay whole while alive, across parses and threads, and libxml2's
// other users (XML documents, XPath, attribute copies) keep working with malloc memory beside them.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include <string>
#include <thread>
#include <vector>

#include "stages/extract/extract_dom.h"

namespace vnawire::extract {
namespace {

std::string page(int n) {
  std::string html = "<html><head><title>Page " + std::to_string(n) + "</title><script>var a = " + std::to_string(n) +
                     ";</script></head><body>";
  for (int k = 0; k < 50; ++k) {
    html += "<div class=\"block b" + std::to_string(k) + "\" data-n=\"" + std::to_string(n) + "\"><p>Paragraph " +
            std::to_string(k) + " of page " + std::to_string(n) + " &amp; more</p></div><!-- c -->";
  }
  return html + "<unknowntag>x</unknowntag></p></div></body></html>";
}

std::string title_of(const dom::DocPtr& doc) {
  std::string title;
  dom::traverse(
      xmlDocGetRootElement(doc.get()),
      [&](xmlNode* n) {
        if (dom::is_element(n, "title")) title = dom::text_of(n);
        return title.empty();
      },
      [](xmlNode*) {});
  return title;
}

TEST(ParseArena, DocumentsStayWholeWhileOthersAreParsedAndReleased) {
  dom::DocPtr first = dom::parse_html(page(1), "");
  const std::string text = dom::text_of(xmlDocGetRootElement(first.get()));
  for (int n = 2; n < 40; ++n) {
    dom::DocPtr other = dom::parse_html(page(n), "");
    ASSERT_EQ(title_of(other), "Page " + std::to_string(n));
  }
  EXPECT_EQ(dom::text_of(xmlDocGetRootElement(first.get())), text);
  first.reset();
  const dom::DocPtr again = dom::parse_html(page(41), "");  // the arena starts over here
  EXPECT_EQ(title_of(again), "Page 41");
}

TEST(ParseArena, LargePagesSpanChunks) {
  std::string big = "<html><body>";
  while (big.size() < (6u << 20)) big += "<p class=\"x\">" + std::string(300, 'a') + "</p>";
  big += "<p id=\"last\">end</p></body></html>";
  for (int round = 0; round < 3; ++round) {
    const dom::DocPtr doc = dom::parse_html(big, "");
    ASSERT_NE(doc, nullptr);
    const xmlNode* body = xmlDocGetRootElement(doc.get())->children;
    ASSERT_NE(body, nullptr);
    EXPECT_EQ(dom::attr(body->last, "id"), "last");
  }
}

TEST(ParseArena, ThreadsParseAtOnceAndReleaseEachOthersDocuments) {
  std::vector<dom::DocPtr> handed_over(4);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &handed_over, &failures] {
      for (int n = 0; n < 60; ++n) {
        const int id = t * 1000 + n;
        const dom::DocPtr doc = dom::parse_html(page(id), "");
        if (title_of(doc) != "Page " + std::to_string(id)) ++failures[t];
      }
      handed_over[t] = dom::parse_html(page(t), "");  // outlives its thread, released here
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(failures[t], 0);
    EXPECT_EQ(title_of(handed_over[t]), "Page " + std::to_string(t));
    handed_over[t].reset();
  }
}

TEST(ParseArena, OtherLibxmlUsersKeepWorking) {
  // An XML document made outside any parse of a page lives on malloc memory across page parses.
  const std::string xml = "<rss><channel><title>Feed</title></channel></rss>";
  xmlDoc* feed = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET);
  ASSERT_NE(feed, nullptr);
  {
    const dom::DocPtr doc = dom::parse_html(page(7), "");
    // XPath over an arena document, and a copied attribute, freed after the document.
    xmlXPathContext* context = xmlXPathNewContext(doc.get());
    xmlXPathObject* found = xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>("//div[@data-n]"), context);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(xmlXPathNodeSetGetLength(found->nodesetval), 50);
    xmlChar* copy = xmlGetProp(found->nodesetval->nodeTab[0], reinterpret_cast<const xmlChar*>("class"));
    xmlXPathFreeObject(found);
    xmlXPathFreeContext(context);
    const dom::DocPtr later = dom::parse_html(page(8), "");
    EXPECT_STREQ(reinterpret_cast<const char*>(copy), "block b0");
    xmlFree(copy);
  }
  EXPECT_STREQ(reinterpret_cast<const char*>(xmlDocGetRootElement(feed)->name), "rss");
  xmlFreeDoc(feed);
}

TEST(ParseArena, TheLastErrorNeverPointsIntoReusedMemory) {
  { const dom::DocPtr doc = dom::parse_html(page(1), ""); }  // raises "Tag unknowntag invalid"
  { const dom::DocPtr doc = dom::parse_html("<p>plain</p>", ""); }
  const xmlError* last = xmlGetLastError();
  if (last != nullptr && last->message != nullptr) {
    EXPECT_GT(std::string(last->message).size(), 0u);
  }
  xmlResetLastError();
}

}  // namespace
}  // namespace vnawire::extract
