// The replay server in-process on port 0, seen through libcurl: pages, feeds, releases, validators, gzip,
// robots.txt and 64 concurrent keep-alive connections. Faults are in replay_fault_test.cc.
#include <filesystem>
#include <thread>

#include "tests/daemon/replay_test_util.h"

namespace vnawire::replay::testing {
namespace {

using std::chrono::milliseconds;

class ReplayServerTest : public ReplayFixture {};

std::vector<std::string> newest_first_titles() { return {kLatin1Title, kForumTitle, kDeltaTitle, kRailTitle}; }

TEST_F(ReplayServerTest, HomePageLinksTheFeedsAndTheReleasedArticles) {
  start();
  const auto home = get("/");
  ASSERT_EQ(home.status, 200);
  EXPECT_EQ(home.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(home.body.find(R"(<link rel="alternate" type="application/rss+xml")"), std::string::npos) << home.body;
  EXPECT_NE(home.body.find(R"(href="/rss.xml")"), std::string::npos);
  EXPECT_NE(home.body.find(R"(type="application/atom+xml")"), std::string::npos);
  for (const char* name : {"a-rail.txt", "b-delta.txt", "c-forum.html", "d-latin1.txt"}) {
    EXPECT_NE(home.body.find(std::string("href=\"/articles/") + name + "\""), std::string::npos) << name;
  }
  EXPECT_NE(home.body.find("rail &amp; des gares &lt;nord&gt;"), std::string::npos);
  EXPECT_EQ(home.body.find("notes.md"), std::string::npos);
  EXPECT_EQ(home.body.find("draft"), std::string::npos);
}

TEST_F(ReplayServerTest, RssListsTheReleasedFilesNewestFirstAsWellFormedXml) {
  start();
  const auto rss = get("/rss.xml");
  ASSERT_EQ(rss.status, 200);
  EXPECT_EQ(rss.header("content-type"), "application/rss+xml; charset=utf-8");
  Xml xml(rss.body);
  ASSERT_TRUE(xml.well_formed()) << rss.body;
  EXPECT_EQ(xml.root(), "rss");
  auto titles = xml.texts("title");
  ASSERT_EQ(titles.size(), 5u) << rss.body;
  EXPECT_EQ(titles[0], "vnawire replay");
  titles.erase(titles.begin());
  EXPECT_EQ(titles, newest_first_titles());
  EXPECT_EQ(xml.texts("pubDate").size(), 4u);
  const auto guids = xml.texts("guid");
  ASSERT_EQ(guids.size(), 4u);
  EXPECT_EQ(guids[0], server_->base_url() + "/articles/d-latin1.txt");
  EXPECT_EQ(guids[3], server_->base_url() + "/articles/a-rail.txt");
}

TEST_F(ReplayServerTest, AtomFeedIsWellFormedWithPublishedTimes) {
  start();
  const auto atom = get("/atom.xml");
  ASSERT_EQ(atom.status, 200);
  Xml xml(atom.body);
  ASSERT_TRUE(xml.well_formed()) << atom.body;
  EXPECT_EQ(xml.root(), "feed");
  auto titles = xml.texts("title");
  ASSERT_EQ(titles.size(), 5u);
  titles.erase(titles.begin());
  EXPECT_EQ(titles, newest_first_titles());
  EXPECT_EQ(xml.texts("published").size(), 4u);
}

TEST_F(ReplayServerTest, SitemapsListTheReleasedFiles) {
  start();
  const auto index = get("/sitemap.xml");
  Xml index_xml(index.body);
  ASSERT_TRUE(index_xml.well_formed()) << index.body;
  EXPECT_EQ(index_xml.root(), "sitemapindex");
  EXPECT_EQ(index_xml.texts("loc"), (std::vector<std::string>{server_->base_url() + "/sitemap-news.xml",
                                                              server_->base_url() + "/sitemap-all.xml.gz"}));

  const auto news = get("/sitemap-news.xml");
  Xml news_xml(news.body);
  ASSERT_TRUE(news_xml.well_formed()) << news.body;
  EXPECT_EQ(news_xml.root(), "urlset");
  EXPECT_EQ(news_xml.texts("news:title"), newest_first_titles());
  EXPECT_EQ(news_xml.texts("news:publication_date").size(), 4u);
  EXPECT_EQ(news_xml.texts("lastmod").size(), 4u);

  const auto all = get("/sitemap-all.xml.gz");
  EXPECT_EQ(all.header("content-type"), "application/gzip");
  EXPECT_EQ(all.header("content-encoding"), "");
  Xml all_xml(gunzip(all.body));
  ASSERT_TRUE(all_xml.well_formed());
  EXPECT_EQ(all_xml.root(), "urlset");
  EXPECT_EQ(all_xml.texts("loc").size(), 4u);
}

TEST_F(ReplayServerTest, ReleaseEveryHoldsFilesBackUntilTheirTurn) {
  ReplaySettings settings;
  settings.release_every = std::chrono::hours(1);
  auto& server = start(settings);
  EXPECT_EQ(server.released(), 1u);
  EXPECT_EQ(server.pending(), 3u);
  EXPECT_EQ(Xml(get("/rss.xml").body).texts("pubDate").size(), 1u);
  EXPECT_EQ(get("/articles/b-delta.txt").status, 404);

  ASSERT_TRUE(server.release_next());
  EXPECT_EQ(get("/articles/b-delta.txt").status, 200);
  auto titles = Xml(get("/rss.xml").body).texts("title");
  EXPECT_EQ(titles, (std::vector<std::string>{"vnawire replay", kDeltaTitle, kRailTitle}));
  EXPECT_TRUE(server.release_next());
  EXPECT_TRUE(server.release_next());
  EXPECT_FALSE(server.release_next());
  EXPECT_EQ(server.released(), 4u);
  EXPECT_EQ(server.pending(), 0u);
}

TEST_F(ReplayServerTest, ReleaseTimerReleasesOneFileEachPeriod) {
  ReplaySettings settings;
  settings.release_every = milliseconds(40);
  auto& server = start(settings);
  EXPECT_TRUE(eventually([&] { return server.released() == 4; })) << server.released();
  EXPECT_EQ(server.pending(), 0u);
  EXPECT_EQ(Xml(get("/rss.xml").body).texts("pubDate").size(), 4u);
}

TEST_F(ReplayServerTest, AFileAddedToTheFolderAppears) {
  start();
  folder_.write("e-port.txt", "Le port de Hai Phong accueille un nouveau terminal\n\nTexte.\n");
  EXPECT_EQ(get("/articles/e-port.txt").status, 200);  // before any feed request rescans
  auto titles = Xml(get("/rss.xml").body).texts("title");
  ASSERT_EQ(titles.size(), 6u);
  EXPECT_EQ(titles[1], "Le port de Hai Phong accueille un nouveau terminal");
  folder_.write("f-pont.txt", "Un pont relie enfin les deux rives\n");
  EXPECT_NE(get("/sitemap-news.xml").body.find("Un pont relie enfin les deux rives"), std::string::npos);
}

TEST_F(ReplayServerTest, AFileAddedWhileReleasingJoinsTheQueue) {
  ReplaySettings settings;
  settings.release_every = std::chrono::hours(1);
  auto& server = start(settings);
  folder_.write("e-port.txt", "Le port de Hai Phong accueille un nouveau terminal\n");
  get("/rss.xml");
  EXPECT_EQ(server.pending(), 4u);
  while (server.release_next()) {
  }
  EXPECT_EQ(get("/articles/e-port.txt").status, 200);
}

TEST_F(ReplayServerTest, AChangedFileGetsANewEtag) {
  start();
  const auto before = get("/articles/a-rail.txt");
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(before.body, kRail);
  const std::string etag = before.header("etag");
  ASSERT_FALSE(etag.empty());
  folder_.write("a-rail.txt", "La ligne Hanoi - Lao Cai rouvre\n\nTexte corrige.\n");
  // Same second on a coarse clock must not hide the edit: push the mtime forward.
  const auto path = folder_.path() / "a-rail.txt";
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
  const auto after = get("/articles/a-rail.txt");
  EXPECT_EQ(after.body, "La ligne Hanoi - Lao Cai rouvre\n\nTexte corrige.\n");
  EXPECT_NE(after.header("etag"), etag);
  EXPECT_NE(after.header("last-modified"), before.header("last-modified"));
  EXPECT_NE(get("/rss.xml").body.find("La ligne Hanoi - Lao Cai rouvre"), std::string::npos);
}

TEST_F(ReplayServerTest, ValidatorsGive304) {
  start();
  const auto first = get("/articles/b-delta.txt");
  const std::string etag = first.header("etag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // "<16 hex digits>"
  const auto same = get("/articles/b-delta.txt", {.headers = {"If-None-Match: " + etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(same.body, "");
  EXPECT_EQ(same.header("etag"), etag);
  EXPECT_EQ(get("/articles/b-delta.txt", {.headers = {"If-None-Match: \"0123\", W/" + etag}}).status, 304);
  EXPECT_EQ(get("/articles/b-delta.txt", {.headers = {"If-None-Match: \"0123\""}}).status, 200);
  const std::string modified = first.header("last-modified");
  EXPECT_EQ(get("/articles/b-delta.txt", {.headers = {"If-Modified-Since: " + modified}}).status, 304);
  EXPECT_EQ(get("/articles/b-delta.txt", {.headers = {"If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT"}}).status,
            200);
  const auto rss = get("/rss.xml");
  EXPECT_EQ(get("/rss.xml", {.headers = {"If-None-Match: " + rss.header("etag")}}).status, 304);
}

TEST_F(ReplayServerTest, GzipIsServedWhenAccepted) {
  start();
  const auto raw = get("/articles/a-rail.txt", {.headers = {"Accept-Encoding: gzip"}});
  ASSERT_EQ(raw.status, 200);
  EXPECT_EQ(raw.header("content-encoding"), "gzip");
  EXPECT_EQ(raw.header("vary"), "Accept-Encoding");
  EXPECT_EQ(gunzip(raw.body), kRail);
  EXPECT_EQ(get("/articles/a-rail.txt", {.headers = {"If-None-Match: " + raw.header("etag")}}).status, 304);
  EXPECT_EQ(get("/articles/a-rail.txt", {.decode_gzip = true}).body, kRail);

  const auto identity = get("/articles/a-rail.txt");
  EXPECT_EQ(identity.header("content-encoding"), "");
  EXPECT_EQ(identity.body, kRail);
  EXPECT_NE(identity.header("etag"), raw.header("etag"));
  EXPECT_EQ(get("/articles/a-rail.txt", {.headers = {"Accept-Encoding: gzip;q=0"}}).header("content-encoding"), "");
  EXPECT_TRUE(Xml(get("/rss.xml", {.decode_gzip = true}).body).well_formed());
}

TEST_F(ReplayServerTest, CharsetIsDeclaredOnlyForUtf8) {
  start();
  EXPECT_EQ(get("/articles/a-rail.txt").header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(get("/articles/c-forum.html").header("content-type"), "text/html; charset=utf-8");
  const auto latin1 = get("/articles/d-latin1.txt");
  EXPECT_EQ(latin1.header("content-type"), "text/plain");
  EXPECT_EQ(latin1.body, kLatin1);
}

TEST_F(ReplayServerTest, RobotsTxtHasTheConfiguredLines) {
  ReplaySettings settings;
  settings.robots_disallow = {"/private/", "/drafts/"};
  settings.robots_crawl_delay = 2.5;
  start(settings);
  const auto robots = get("/robots.txt");
  EXPECT_EQ(robots.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(robots.body, "User-agent: *\nDisallow: /private/\nDisallow: /drafts/\nCrawl-delay: 2.5\n\nSitemap: " +
                             server_->base_url() + "/sitemap.xml\n");
}

TEST_F(ReplayServerTest, RobotsTxtAllowsEverythingByDefault) {
  start();
  EXPECT_EQ(get("/robots.txt").body, "User-agent: *\nDisallow:\n\nSitemap: " + server_->base_url() + "/sitemap.xml\n");
}

TEST_F(ReplayServerTest, Serves64ConcurrentKeepAliveConnections) {
  ReplaySettings settings;
  settings.threads = 2;
  // The first round waits long enough that all 64 requests are in flight together.
  settings.faults = {*parse_fault("delay=1000@/articles/*64")};
  auto& server = start(settings);
  const char* names[] = {"a-rail.txt", "b-delta.txt", "c-forum.html", "d-latin1.txt"};
  std::vector<std::string> urls;
  for (int i = 0; i < 64; ++i) urls.push_back(url(std::string("/articles/") + names[i % 4]));
  CURLM* multi = curl_multi_init();
  std::vector<CURL*> handles;
  for (int round = 0; round < 3; ++round) {
    const auto results = http_get_all(urls, handles, multi);
    for (const auto& result : results) {
      ASSERT_EQ(result.code, CURLE_OK) << curl_easy_strerror(result.code);
      ASSERT_EQ(result.status, 200);
      ASSERT_FALSE(result.body.empty());
      if (round > 0) {
        EXPECT_EQ(result.connects, 0) << "round " << round << " opened a new connection";
      }
    }
  }
  for (CURL* handle : handles) curl_easy_cleanup(handle);
  curl_multi_cleanup(multi);
  EXPECT_EQ(server.max_in_flight(), 64u);
  EXPECT_EQ(server.requests_total(), 192u);
  EXPECT_EQ(server.requests_for("/articles/a-rail.txt"), 48u);
}

TEST_F(ReplayServerTest, ADelayedRequestDoesNotHoldUpOthers) {
  ReplaySettings settings;
  settings.threads = 1;
  settings.faults = {*parse_fault("delay=1500@/articles/b-delta.txt")};
  auto& server = start(settings);
  HttpResult slow;
  std::thread slow_client([&] { slow = get("/articles/b-delta.txt"); });
  EXPECT_TRUE(eventually([&] { return server.requests_for("/articles/b-delta.txt") == 1; }));
  const auto quick = get("/robots.txt");
  EXPECT_EQ(quick.status, 200);
  EXPECT_LT(quick.elapsed, milliseconds(1000));
  slow_client.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_GE(slow.elapsed, milliseconds(1450));
}

TEST_F(ReplayServerTest, AnswersOtherRequestsSensibly) {
  auto& server = start();
  EXPECT_EQ(get("/nothing-here").status, 404);
  EXPECT_EQ(get("/articles/notes.md").status, 404);
  EXPECT_EQ(get("/articles/..%2Fnotes.md").status, 404);
  EXPECT_EQ(get("/articles/.e-draft.txt").status, 404);
  EXPECT_EQ(get("/articles/c-forum.html", {.post = "x=1"}).status, 405);
  const auto head = get("/articles/c-forum.html", {.head = true});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("content-length"), std::to_string(kForum.size()));
  get("/rss.xml?page=2");
  get("/rss.xml");
  EXPECT_EQ(server.requests_for("/rss.xml"), 2u);
  EXPECT_EQ(server.requests_for("/rss.xml?page=2"), 0u);
}

TEST_F(ReplayServerTest, RefusesUnreadableRequestsWithAStatus) {
  auto& server = start();
  EXPECT_TRUE(raw_exchange(server.port(), "garbage\r\n\r\n").starts_with("HTTP/1.1 400 ")) << "garbage";
  const std::string long_header = "GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_TRUE(raw_exchange(server.port(), long_header).starts_with("HTTP/1.1 431 "));
  const std::string answer = raw_exchange(server.port(), "GET /robots.txt HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.0 200 OK\r\n")) << answer;
  EXPECT_NE(answer.find("Sitemap: " + server.base_url() + "/sitemap.xml"), std::string::npos) << answer;
}

TEST(ReplayServerStart, ReportsAMissingFolderABusyPortAndBadAddresses) {
  Folder folder;
  ReplaySettings missing;
  missing.directory = folder.path() / "nope";
  auto status = ReplayServer(missing).start();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("no such folder"), std::string::npos) << status.message();

  ReplaySettings first;
  first.directory = folder.path();
  ReplayServer holder(first);
  ASSERT_TRUE(holder.start().ok());
  EXPECT_EQ(holder.released(), 0u);
  ReplaySettings busy = first;
  busy.listen = "127.0.0.1:" + std::to_string(holder.port());
  status = ReplayServer(busy).start();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot listen on " + busy.listen), std::string::npos) << status.message();

  for (const char* listen : {"example.org:80", "127.0.0.1", "127.0.0.1:99999", ":8080", "::1:80"}) {
    ReplaySettings bad = first;
    bad.listen = listen;
    status = ReplayServer(bad).start();
    EXPECT_FALSE(status.ok()) << listen;
    EXPECT_NE(status.message().find(listen), std::string::npos) << status.message();
  }
}

}  // namespace
}  // namespace vnawire::replay::testing
