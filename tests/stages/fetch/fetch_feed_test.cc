// Fetch: RSS/Atom/RDF feeds, sitemaps, feed discovery, listing links, dates and bounded gunzip.
#include "stages/fetch/fetch_feed.h"
#include "stages/fetch/fetch_inflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>

namespace vnawire::fetch {
namespace {

// gzip of `chunk` repeated `times`, compressed as it streams so that a large bomb is cheap to build.
std::string gzip_repeated(std::string_view chunk, std::size_t times) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out;
  char buffer[16384];
  for (std::size_t i = 0; i <= times; ++i) {
    const bool last = i == times;
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    stream.avail_in = last ? 0 : static_cast<uInt>(chunk.size());
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof buffer;
      deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH);
      out.append(buffer, sizeof buffer - stream.avail_out);
    } while (stream.avail_out == 0);
  }
  deflateEnd(&stream);
  return out;
}

std::string gzip(std::string_view text) { return gzip_repeated(text, 1); }

// Parses `xml` and compares the whole result: format, title, and every field of every entry (url, title,
// published, updated, guid).
void expect_feed(std::string_view xml, std::string_view url, std::string_view format, std::string_view title,
                 const std::vector<FeedEntry>& entries) {
  auto feed = parse_feed(xml, url);
  ASSERT_TRUE(feed.ok()) << feed.error();
  EXPECT_EQ(feed->format, format);
  EXPECT_EQ(feed->title, title);
  ASSERT_EQ(feed->entries.size(), entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(feed->entries[i].url, entries[i].url) << "entry " << i;
    EXPECT_EQ(feed->entries[i].title, entries[i].title) << "entry " << i;
    EXPECT_EQ(feed->entries[i].published, entries[i].published) << "entry " << i;
    EXPECT_EQ(feed->entries[i].updated, entries[i].updated) << "entry " << i;
    EXPECT_EQ(feed->entries[i].guid, entries[i].guid) << "entry " << i;
  }
}

TEST(FetchFeed, Rss2WithCdataEntitiesRelativeLinksAndBom) {
  const std::string xml =
      "\xEF\xBB\xBF\n  \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
      "<channel><title>TTXVN &amp; Vietnamplus</title><link>https://vnanet.vn/</link>\n"
      "<atom:link href=\"https://vnanet.vn/rss/feed.xml\" rel=\"self\" type=\"application/rss+xml\"/>\n"
      "<item><title><![CDATA[Hà Nội <b>mưa</b> lớn]]></title><link>/vi/tin/ha-noi-1.html</link>\n"
      "  <guid isPermaLink=\"false\">vna-1</guid><pubDate>Tue, 10 Jun 2025 09:30:00 +0700</pubDate></item>\n"
      "<item><title>Caf&eacute; &amp;quot;Trung&amp;quot;&nbsp;&#272;&#x1EA1;i</title>\n"
      "  <link>\n    https://vnanet.vn/vi/tin/cafe-2.html\n  </link><dc:date>2025-06-10T01:00:00Z</dc:date></item>\n"
      "<item><title>Permalink only</title><guid>tin/permalink-3.html</guid></item>\n"
      "<item><title>No link at all</title><description>skipped</description></item>\n"
      "<item><title>  Spaced\n\t out  </title><link>../tin/bài viết.html</link></item>\n"
      "</channel></rss>\n";
  // The second has no <guid>: its link stands in. The third has only a permalink guid, the fourth an
  // unescaped relative link; an item without any link is skipped.
  expect_feed(xml, "https://vnanet.vn/rss/feed.xml", "rss2", "TTXVN & Vietnamplus",
              {{"https://vnanet.vn/vi/tin/ha-noi-1.html", "Hà Nội mưa lớn", "2025-06-10T02:30:00Z", "", "vna-1"},
               {"https://vnanet.vn/vi/tin/cafe-2.html", "Café \"Trung\" Đại", "2025-06-10T01:00:00Z", "",
                "https://vnanet.vn/vi/tin/cafe-2.html"},
               {"https://vnanet.vn/rss/tin/permalink-3.html", "Permalink only", "", "", "tin/permalink-3.html"},
               {"https://vnanet.vn/tin/b%C3%A0i%20vi%E1%BA%BFt.html", "Spaced out", "", "",
                "https://vnanet.vn/tin/b%C3%A0i%20vi%E1%BA%BFt.html"}});
}

TEST(FetchFeed, Rss091WithExternalDoctypeIsReadWithoutFetchingIt) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
      "<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\"\n"
      "  \"http://my.netscape.com/publish/formats/rss-0.91.dtd\">\n"
      "<rss version=\"0.91\"><channel><title>Old</title>\n"
      "<item><title>R\xE9sum\xE9 &eacute;t\xE9</title><link>http://example.org/a</link></item>\n"
      "</channel></rss>";
  auto feed = parse_feed(xml, "http://example.org/rss.xml");
  ASSERT_TRUE(feed.ok()) << feed.error();
  ASSERT_EQ(feed->entries.size(), 1u);
  EXPECT_EQ(feed->entries[0].title, "Résumé été");
}

TEST(FetchFeed, AtomWithOddPrefixesXmlBaseAndLinkChoice) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n"
      "<zz:feed xmlns:zz=\"http://www.w3.org/2005/Atom\" xmlns:other=\"http://example.com/not-atom\"\n"
      "         xml:base=\"https://news.example.vn/en/\">\n"
      "  <zz:title type=\"html\">World &amp;lt;i&amp;gt;news&amp;lt;/i&amp;gt;</zz:title>\n"
      "  <zz:entry>\n"
      "    <zz:id>tag:news.example.vn,2025:1</zz:id>\n"
      "    <zz:title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">Trade <em>talks</em></div></zz:title>\n"
      "    <zz:link rel=\"self\" href=\"/api/entries/1\"/>\n"
      "    <other:link href=\"https://wrong.example/\"/>\n"
      "    <zz:link rel=\"alternate\" type=\"text/html\" href=\"world/trade-talks.html\"/>\n"
      "    <zz:published>2025-06-10T08:15:30.123+07:00</zz:published>\n"
      "    <zz:updated>2025-06-10T02:00:00Z</zz:updated>\n"
      "  </zz:entry>\n"
      "  <zz:entry xml:base=\"/vi/\">\n"
      "    <zz:id>tag:news.example.vn,2025:2</zz:id><zz:title>Không rel</zz:title>\n"
      "    <zz:link rel=\"enclosure\" href=\"photo.jpg\"/><zz:link href=\"kinh-te/2.html\"/>\n"
      "    <zz:updated>2025-06-10</zz:updated>\n"
      "  </zz:entry>\n"
      "  <zz:entry><zz:id>urn:uuid:3</zz:id><zz:title>Only related</zz:title>\n"
      "    <zz:link rel=\"self\" href=\"/self/3\"/><zz:link rel=\"related\" href=\"/related/3\"/></zz:entry>\n"
      "  <zz:entry><zz:id>https://news.example.vn/by-id/4</zz:id><zz:title>Id is a URL</zz:title></zz:entry>\n"
      "  <zz:entry><zz:id>urn:uuid:5</zz:id><zz:title>Nothing usable</zz:title>\n"
      "    <zz:link rel=\"self\" href=\"/self/5\"/></zz:entry>\n"
      "</zz:feed>";
  expect_feed(xml, "https://news.example.vn/atom.xml", "atom", "World news",
              {{"https://news.example.vn/en/world/trade-talks.html", "Trade talks", "2025-06-10T01:15:30Z",
                "2025-06-10T02:00:00Z", "tag:news.example.vn,2025:1"},
               {"https://news.example.vn/vi/kinh-te/2.html", "Không rel", "", "2025-06-10T00:00:00Z",
                "tag:news.example.vn,2025:2"},
               {"https://news.example.vn/related/3", "Only related", "", "", "urn:uuid:3"},
               {"https://news.example.vn/by-id/4", "Id is a URL", "", "", "https://news.example.vn/by-id/4"}});
}

TEST(FetchFeed, Rss1RdfWithOddPrefixes) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n"
      "<R:RDF xmlns:R=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\"\n"
      "       xmlns:meta=\"http://purl.org/dc/elements/1.1/\">\n"
      "  <channel R:about=\"http://example.org/rss\"><title>RDF site</title><link>http://example.org/</link>\n"
      "    <items><R:Seq><R:li R:resource=\"http://example.org/1\"/></R:Seq></items></channel>\n"
      "  <item R:about=\"http://example.org/1\"><title>One</title><link>/1</link>\n"
      "    <meta:date>2025-06-09T23:00:00-05:00</meta:date></item>\n"
      "  <item R:about=\"http://example.org/2\"><title>Two, about only</title></item>\n"
      "</R:RDF>";
  expect_feed(xml, "http://example.org/rss", "rss1", "RDF site",
              {{"http://example.org/1", "One", "", "2025-06-10T04:00:00Z", "http://example.org/1"},
               {"http://example.org/2", "Two, about only", "", "", "http://example.org/2"}});
}

TEST(FetchFeed, PrefixesDoNotMakeANamespace) {
  // "atom:" bound to another URI is not Atom, and an RSS feed's foreign <x:item> is not an item.
  auto fake = parse_feed("<atom:feed xmlns:atom=\"http://example.com/not-atom\"/>", "http://e.org/");
  ASSERT_FALSE(fake.ok());
  EXPECT_NE(fake.error().find("not a feed: root element <feed>"), std::string::npos) << fake.error();
  auto rss = parse_feed(
      "<rss xmlns:x=\"urn:x\"><channel><x:item><link>http://e.org/x</link></x:item>"
      "<item><link>http://e.org/real</link></item></channel></rss>",
      "http://e.org/");
  ASSERT_TRUE(rss.ok()) << rss.error();
  ASSERT_EQ(rss->entries.size(), 1u);
  EXPECT_EQ(rss->entries[0].url, "http://e.org/real");
  // An undeclared prefix is a namespace error, not a well-formedness one: tolerated, and matches nothing.
  auto undeclared = parse_feed(
      "<rss><channel><atom:link rel=\"self\" href=\"http://e.org/self\"/>"
      "<item><atom:link href=\"http://e.org/wrong\"/><link>http://e.org/a</link></item></channel></rss>",
      "http://e.org/");
  ASSERT_TRUE(undeclared.ok()) << undeclared.error();
  ASSERT_EQ(undeclared->entries.size(), 1u);
  EXPECT_EQ(undeclared->entries[0].url, "http://e.org/a");
}

TEST(FetchFeed, NotAFeedAndMalformedXmlNameTheProblem) {
  auto html = parse_feed("<html><body>hi</body></html>", "http://e.org/");
  ASSERT_FALSE(html.ok());
  EXPECT_EQ(html.error(), "not a feed: root element <html>");
  const std::string broken =
      "\n \n<?xml version=\"1.0\"?>\n<rss version=\"2.0\">\n<channel>\n<item><title>Fine</title></item>\n"
      "<item><title>Broken</item>\n</channel></rss>";
  auto bad = parse_feed(broken, "http://e.org/");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("not well-formed XML at line 7: Opening and ending tag mismatch: title line 7 and item"),
            std::string::npos)
      << bad.error();
  auto no_declaration = parse_feed("\n\n<rss>\n<channel>\n</rss>", "http://e.org/");
  ASSERT_FALSE(no_declaration.ok());
  EXPECT_NE(no_declaration.error().find("at line 5: "), std::string::npos) << no_declaration.error();
  EXPECT_FALSE(parse_feed("", "http://e.org/").ok());
  EXPECT_FALSE(parse_feed("just text", "http://e.org/").ok());
}

TEST(FetchFeed, EntityDeclarationsAreRefusedSoBillionLaughsCostsNothing) {
  std::string laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    laughs += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) laughs += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    laughs += "\">\n";
  }
  laughs += "]>\n<rss><channel><title>&lol9;</title><item><link>http://e.org/</link></item></channel></rss>";
  const auto started = std::chrono::steady_clock::now();
  auto feed = parse_feed(laughs, "http://e.org/");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  ASSERT_FALSE(feed.ok());
  EXPECT_EQ(feed.error(), "entity declarations are not allowed (line 3)");

  auto external = parse_feed(
      "<!DOCTYPE rss [<!ENTITY secret SYSTEM \"file:///etc/passwd\">]>"
      "<rss><channel><title>&secret;</title></channel></rss>",
      "http://e.org/");
  ASSERT_FALSE(external.ok());
  EXPECT_NE(external.error().find("entity declarations are not allowed"), std::string::npos);
}

TEST(FetchDate, Rfc822AndIso8601BecomeUtc) {
  const std::pair<const char*, const char*> cases[] = {
      {"Tue, 10 Jun 2025 09:30:00 +0700", "2025-06-10T02:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 GMT", "2025-06-10T09:30:00Z"},
      {"10 Jun 2025 09:30:00 UT", "2025-06-10T09:30:00Z"},
      {"Tuesday, 10 June 2025 09:30 Z", "2025-06-10T09:30:00Z"},
      {"Tue 10 Jun 2025 09:30:00 EST", "2025-06-10T14:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 EDT", "2025-06-10T13:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 CST", "2025-06-10T15:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 CDT", "2025-06-10T14:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 MST", "2025-06-10T16:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 MDT", "2025-06-10T15:30:00Z"},
      {"Tue, 10 Jun 2025 22:30:00 PST", "2025-06-11T06:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 PDT", "2025-06-10T16:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 ICT", "2025-06-10T02:30:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 -0330", "2025-06-10T13:00:00Z"},
      {"Tue, 10 Jun 2025 09:30:00 +07:00 (ICT)", "2025-06-10T02:30:00Z"},
      {"Sat, 1 Jan 2000 00:00:00 +0100", "1999-12-31T23:00:00Z"},
      {"1 Mar 25 12:00:00 GMT", "2025-03-01T12:00:00Z"},
      {"10 Jun 2025", "2025-06-10T00:00:00Z"},
      {"2025-06-10", "2025-06-10T00:00:00Z"},
      {"2025-06", "2025-06-01T00:00:00Z"},
      {"2025-06-10T09:30Z", "2025-06-10T09:30:00Z"},
      {"2025-06-10T09:30:15+07:00", "2025-06-10T02:30:15Z"},
      {"2025-06-10T09:30:15.123456-02:30", "2025-06-10T12:00:15Z"},
      {"2025-06-10 09:30:15+0700", "2025-06-10T02:30:15Z"},
      {"2025-06-10T09:30:15", "2025-06-10T09:30:15Z"},
      {"2024-02-29T23:59:59-01:00", "2024-03-01T00:59:59Z"},
      {"  2025-06-10T09:30:15Z  ", "2025-06-10T09:30:15Z"},
  };
  for (const auto& [text, want] : cases) EXPECT_EQ(normalise_date(text), want) << text;
  for (const char* bad :
       {"", "yesterday", "2025-13-01", "2025-02-30", "2025-06-10T25:00:00Z", "2025-06-10T09:30:15+07:00x",
        "2025-06-10Tabc", "32 Jun 2025 10:00:00 GMT", "10 Foo 2025", "Tue, 10 Jun 2025 9h30", "2025/06/10"}) {
    EXPECT_EQ(normalise_date(bad), "") << bad;
  }
}

TEST(FetchSitemap, UrlsetWithLastmodAndRelativeLocs) {
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
      "  <url><loc>https://vnanet.vn/vi/tin/1.html</loc><lastmod>2025-06-10T09:00:00+07:00</lastmod></url>\n"
      "  <url><loc>/vi/tin/2.html?a=1&amp;b=2</loc></url>\n"
      "  <url><lastmod>2025-06-10</lastmod></url>\n"
      "</urlset>";
  auto sitemap = parse_sitemap(xml, "https://vnanet.vn/sitemap.xml", 1 << 20);
  ASSERT_TRUE(sitemap.ok()) << sitemap.error();
  EXPECT_FALSE(sitemap->is_index);
  ASSERT_EQ(sitemap->entries.size(), 2u);
  EXPECT_EQ(sitemap->entries[0].lastmod, "2025-06-10T02:00:00Z");
  EXPECT_EQ(sitemap->entries[1].url, "https://vnanet.vn/vi/tin/2.html?a=1&b=2");
  EXPECT_EQ(sitemap->entries[1].lastmod, "");
}

TEST(FetchSitemap, IndexAndGoogleNewsWithOddPrefixes) {
  auto index = parse_sitemap(
      "<s:sitemapindex xmlns:s=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
      "<s:sitemap><s:loc>https://e.vn/sitemap-1.xml.gz</s:loc><s:lastmod>2025-06-01</s:lastmod></s:sitemap>"
      "<s:sitemap><s:loc>sitemap-2.xml</s:loc></s:sitemap></s:sitemapindex>",
      "https://e.vn/sitemaps/index.xml", 1 << 20);
  ASSERT_TRUE(index.ok()) << index.error();
  EXPECT_TRUE(index->is_index);
  ASSERT_EQ(index->entries.size(), 2u);
  EXPECT_EQ(index->entries[0].lastmod, "2025-06-01T00:00:00Z");
  EXPECT_EQ(index->entries[1].url, "https://e.vn/sitemaps/sitemap-2.xml");

  auto news = parse_sitemap(
      "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"\n"
      "        xmlns:gn=\"http://www.google.com/schemas/sitemap-news/0.9\">\n"
      "<url><loc>https://e.vn/a.html</loc><gn:news><gn:publication><gn:name>VNA</gn:name>"
      "<gn:language>vi</gn:language></gn:publication><gn:publication_date>2025-06-10T09:00:00+07:00"
      "</gn:publication_date><gn:title><![CDATA[Thủ tướng &amp; Quốc hội]]></gn:title></gn:news></url>\n"
      "<url><loc>https://e.vn/b.html</loc></url></urlset>",
      "https://e.vn/news-sitemap.xml", 1 << 20);
  ASSERT_TRUE(news.ok()) << news.error();
  ASSERT_EQ(news->entries.size(), 2u);
  EXPECT_EQ(news->entries[0].news_title, "Thủ tướng & Quốc hội");
  EXPECT_EQ(news->entries[0].news_published, "2025-06-10T02:00:00Z");
  EXPECT_EQ(news->entries[0].news_language, "vi");
  EXPECT_EQ(news->entries[1].news_title, "");
  EXPECT_EQ(news->entries[1].news_language, "");

  auto wrong = parse_sitemap("<rss><channel/></rss>", "https://e.vn/", 1 << 20);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error(), "not a sitemap: root element <rss>");
}

TEST(FetchSitemap, GzipDataIsDetectedByMagicBytes) {
  const std::string xml =
      "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><url><loc>https://e.vn/1</loc></url></urlset>";
  auto sitemap = parse_sitemap(gzip(xml), "https://e.vn/sitemap.xml.gz", 1 << 20);
  ASSERT_TRUE(sitemap.ok()) << sitemap.error();
  ASSERT_EQ(sitemap->entries.size(), 1u);
  EXPECT_EQ(sitemap->entries[0].url, "https://e.vn/1");
  EXPECT_FALSE(parse_sitemap(xml, "https://e.vn/sitemap.xml", 20).ok());  // plain, but over the bound
}

TEST(FetchSitemap, GzipBombIsCutOffAtMaxBytes) {
  const std::string zeros(1 << 20, '\0');
  const std::string bomb = gzip_repeated(zeros, 64);  // 64 MiB of zeros in about 64 KiB
  ASSERT_LT(bomb.size(), 1u << 20);
  const auto started = std::chrono::steady_clock::now();
  auto inflated = gunzip(bomb, 4 << 20);
  ASSERT_FALSE(inflated.ok());
  EXPECT_EQ(inflated.error(), "gzip data inflates beyond 4194304 bytes");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));  // stopped early, not at 64 MiB
  auto sitemap = parse_sitemap(bomb, "https://e.vn/sitemap.xml.gz", 4 << 20);
  ASSERT_FALSE(sitemap.ok());
  EXPECT_EQ(sitemap.error(), "sitemap: gzip data inflates beyond 4194304 bytes");
}

TEST(FetchSitemap, GunzipMembersCorruptionAndTruncation) {
  auto two = gunzip(gzip("first ") + gzip("second"), 100);
  ASSERT_TRUE(two.ok()) << two.error();
  EXPECT_EQ(*two, "first second");
  EXPECT_EQ(*gunzip(gzip("exact"), 5), "exact");
  EXPECT_FALSE(gunzip(gzip("exact"), 4).ok());
  std::string whole = gzip(std::string(1000, 'x') + "tail");
  auto truncated = gunzip(std::string_view(whole).substr(0, whole.size() - 6), 1 << 20);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error(), "truncated gzip data");
  whole[whole.size() / 2] = static_cast<char>(whole[whole.size() / 2] ^ 0x55);
  auto corrupt = gunzip(whole, 1 << 20);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.error().find("corrupt gzip data"), std::string::npos) << corrupt.error();
  EXPECT_FALSE(gunzip("not gzip at all", 100).ok());
}

TEST(FetchFeedDiscovery, AlternateFeedLinksInPageOrderWithoutRepeats) {
  const std::string html =
      "<!DOCTYPE html><html><head><base href=\"/vi/\">\n"
      "<link rel=\"stylesheet\" href=\"/site.css\" type=\"text/css\">\n"
      "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Tin mới\" href=\"rss/home.rss\">\n"
      "<link rel=\"alternate\" hreflang=\"en\" type=\"text/html\" href=\"/en/\">\n"
      "<LINK REL=\"Alternate\" TYPE=\"Application/Atom+XML\" HREF=\"https://feeds.example.vn/atom\">\n"
      "<link rel=\"alternate nofollow\" type=\"application/rss+xml; charset=utf-8\" href=\"//cdn.example.vn/x.rss\">\n"
      "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"/vi/rss/home.rss\">\n"
      "<link rel=\"feed\" type=\"application/rss+xml\" href=\"/not-alternate.rss\">\n"
      "<link rel=\"alternate\" type=\"application/json\" href=\"/feed.json\">\n"
      "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"javascript:void(0)\">\n"
      "</head><body><p>Tin <b>mới</b>\n"
      "<link rel=\"alternate\" type=\"application/atom+xml\" href=\"../late.atom\">\n"
      "</body></html>";
  const auto feeds = discover_feeds(html, "https://www.example.vn/index.html");
  const std::vector<std::string> want = {"https://www.example.vn/vi/rss/home.rss", "https://feeds.example.vn/atom",
                                         "https://cdn.example.vn/x.rss", "https://www.example.vn/late.atom"};
  EXPECT_EQ(feeds, want);
  EXPECT_TRUE(discover_feeds("", "https://e.vn/").empty());
  EXPECT_TRUE(discover_feeds("<p>no head", "https://e.vn/").empty());
}

const std::string kListing =
    "<html><head><title>Thời sự</title></head><body>\n"
    "<nav><a href=\"/\">Home</a><a href=\"/vi/thoi-su/\">Thời sự</a></nav>\n"
    "<div class=\"news\">\n"
    "  <article data-url=\"/vi/thoi-su/bai-1.html\"><a href=\"/vi/thoi-su/bai-1.html#comments\">Bài 1</a></article>\n"
    "  <article data-url=\"bai-2.html\"><h3><a href=\"bai-2.html\">Bài 2</a></h3>\n"
    "    <a href=\"bai-2.html\"><img src=\"x.jpg\"></a></article>\n"
    "  <a href=\"mailto:toasoan@example.vn\">Mail</a><a href=\"javascript:void(0)\">JS</a><a>no href</a>\n"
    "</div>\n"
    "<aside><a href=\"https://other.example.com/vi/thoi-su/bai-9.html\">Elsewhere</a>\n"
    "  <a href=\"/vi/the-thao/bai-3.html\">Thể thao</a></aside>\n"
    "</body></html>";
const std::string kListingUrl = "https://www.example.vn/vi/thoi-su/";

TEST(FetchListing, RegexFiltersResolvedLinks) {
  auto all = listing_links(kListing, kListingUrl, compile_link_pattern(""), "");
  ASSERT_TRUE(all.ok()) << all.error();
  EXPECT_EQ(all->size(), 6u);
  auto articles = listing_links(kListing, kListingUrl,
                                compile_link_pattern(R"(^https://www\.example\.vn/vi/[a-z-]+/bai-\d+\.html$)"), "");
  ASSERT_TRUE(articles.ok()) << articles.error();
  const std::vector<std::string> want = {"https://www.example.vn/vi/thoi-su/bai-1.html",
                                         "https://www.example.vn/vi/thoi-su/bai-2.html",
                                         "https://www.example.vn/vi/the-thao/bai-3.html"};
  EXPECT_EQ(*articles, want);
}

TEST(FetchListing, XPathSelectsElementsOrAttributes) {
  auto under_news = listing_links(kListing, kListingUrl, compile_link_pattern(""), "//div[@class='news']");
  ASSERT_TRUE(under_news.ok()) << under_news.error();
  const std::vector<std::string> want = {"https://www.example.vn/vi/thoi-su/bai-1.html",
                                         "https://www.example.vn/vi/thoi-su/bai-2.html"};
  EXPECT_EQ(*under_news, want);
  auto attributes = listing_links(kListing, kListingUrl, compile_link_pattern(""), "//article/@data-url");
  ASSERT_TRUE(attributes.ok()) << attributes.error();
  EXPECT_EQ(*attributes, want);
  auto anchors = listing_links(kListing, kListingUrl, compile_link_pattern(""), "//aside/a");
  ASSERT_TRUE(anchors.ok()) << anchors.error();
  EXPECT_EQ(anchors->size(), 2u);
  auto both = listing_links(kListing, kListingUrl, compile_link_pattern("bai-[13]"), "//article | //aside");
  ASSERT_TRUE(both.ok()) << both.error();
  const std::vector<std::string> want_both = {"https://www.example.vn/vi/thoi-su/bai-1.html",
                                              "https://www.example.vn/vi/the-thao/bai-3.html"};
  EXPECT_EQ(*both, want_both);
}

TEST(FetchListing, BadRegexOrXPathIsAnError) {
  auto regex = listing_links(kListing, kListingUrl, compile_link_pattern("bai-(\\d+"), "");
  ASSERT_FALSE(regex.ok());
  EXPECT_NE(regex.error().find("bad link regex 'bai-(\\d+'"), std::string::npos) << regex.error();
  auto xpath = listing_links(kListing, kListingUrl, compile_link_pattern(""), "//div[@class=");
  ASSERT_FALSE(xpath.ok());
  EXPECT_NE(xpath.error().find("bad XPath '//div[@class='"), std::string::npos) << xpath.error();
  auto value = listing_links(kListing, kListingUrl, compile_link_pattern(""), "count(//a)");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error(), "XPath 'count(//a)' selects a value, not nodes");
}

// std::regex recurses per group and per character matched: a page's huge href, or a deeply nested pattern, must
// be turned away before it overflows the stack (tests/fuzz/regressions/feed and config).
TEST(FetchListing, HugeLinksAndPatternsAreTurnedAway) {
  const std::string page = "<html><body><a href=\"/vi/" + std::string(300 * 1024, 'x') +
                           "/bai-1.html\">Long</a><a href=\"/vi/bai-2.html\">Short</a></body></html>";
  auto links = listing_links(page, kListingUrl, compile_link_pattern("bai-.*\\.html$"), "");
  ASSERT_TRUE(links.ok()) << links.error();
  EXPECT_EQ(*links, std::vector<std::string>{"https://www.example.vn/vi/bai-2.html"});
  const LinkPattern nested = compile_link_pattern(std::string(10000, '(') + "bai" + std::string(10000, ')'));
  EXPECT_FALSE(nested.regex.has_value());
  EXPECT_EQ(nested.error, "longer than 1024 bytes");
}

// The feed's declared language is a hint for langid on its items' short titles, in each format's own place.
TEST(FetchFeed, LanguageOfEachFormat) {
  auto rss2 = parse_feed("<rss version='2.0'><channel><title>T</title><language>fr-FR</language>"
                         "<item><link>/a</link></item></channel></rss>",
                         "https://fr.example.invalid/rss.xml");
  ASSERT_TRUE(rss2.ok()) << rss2.error();
  EXPECT_EQ(rss2->language, "fr-FR");
  auto atom = parse_feed("<feed xmlns='http://www.w3.org/2005/Atom' xml:lang='es'><title>T</title>"
                         "<entry><link href='/a'/></entry></feed>",
                         "https://es.example.invalid/atom.xml");
  ASSERT_TRUE(atom.ok()) << atom.error();
  EXPECT_EQ(atom->language, "es");
  auto rss1 = parse_feed("<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
                         "xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
                         "<channel rdf:about='x'><title>T</title><dc:language>ru</dc:language></channel>"
                         "<item rdf:about='https://x.invalid/a'><link>https://x.invalid/a</link></item></rdf:RDF>",
                         "https://x.invalid/rdf");
  ASSERT_TRUE(rss1.ok()) << rss1.error();
  EXPECT_EQ(rss1->language, "ru");
  auto none = parse_feed("<rss version='2.0'><channel><title>T</title></channel></rss>", "https://x.invalid/");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->language, "");
}

}  // namespace
}  // namespace vnawire::fetch
