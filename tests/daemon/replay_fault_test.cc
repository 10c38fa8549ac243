// Fault injection of the replay server: the spec syntax, and each kind applied for its count, then lifted.
#include "tests/daemon/replay_test_util.h"

#include <thread>

namespace vnawire::replay::testing {
namespace {

using std::chrono::milliseconds;

class ReplayFaults : public ReplayFixture {
 protected:
  ReplayServer& start_with(std::initializer_list<const char*> specs) {
    ReplaySettings settings;
    for (const char* spec : specs) {
      auto fault = parse_fault(spec);
      EXPECT_TRUE(fault.ok()) << fault.error();
      if (fault) settings.faults.push_back(*fault);
    }
    return start(settings);
  }
};

TEST_F(ReplayFaults, StatusForItsCountThenNormal) {
  auto& server = start_with({"status=503@/rss.xml*2"});
  const auto first = get("/rss.xml");
  EXPECT_EQ(first.status, 503);
  EXPECT_FALSE(first.body.empty());
  EXPECT_EQ(get("/rss.xml").status, 503);
  EXPECT_EQ(get("/rss.xml").status, 200);
  EXPECT_EQ(get("/atom.xml").status, 200);  // another path is not touched
  EXPECT_EQ(server.requests_for("/rss.xml"), 3u);
}

TEST_F(ReplayFaults, StatusWithoutCountHitsEveryRequestUnderThePrefix) {
  start_with({"status=500@/articles/"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get("/articles/a-rail.txt").status, 500);
  EXPECT_EQ(get("/articles-index").status, 404);
  EXPECT_EQ(get("/").status, 200);
}

TEST_F(ReplayFaults, AWindowedStatusIsAnOutageThatEndsSecondsAfterItsFirstRequest) {
  start_with({"status=503@/rss.xml~1"});
  EXPECT_EQ(get("/atom.xml").status, 200) << "the window starts with the first matching request";
  EXPECT_EQ(get("/rss.xml").status, 503);
  EXPECT_EQ(get("/rss.xml").status, 503);
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_EQ(get("/rss.xml").status, 200);
  EXPECT_EQ(get("/rss.xml").status, 200);
}

TEST_F(ReplayFaults, RetryAfter) {
  start_with({"retry-after=120@/articles/*1"});
  const auto limited = get("/articles/a-rail.txt");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "120");
  EXPECT_EQ(get("/articles/a-rail.txt").status, 200);
}

TEST_F(ReplayFaults, DelayThenNormalSpeed) {
  start_with({"delay=300@/robots.txt*1"});
  const auto slow = get("/robots.txt");
  EXPECT_EQ(slow.status, 200);
  EXPECT_GE(slow.elapsed, milliseconds(290));
  EXPECT_LT(get("/robots.txt").elapsed, milliseconds(290));
}

TEST_F(ReplayFaults, DelaysAddUpAndLeaveTheAnswerToTheNextFault) {
  start_with({"delay=150@/articles/*1", "delay=150@/articles/a*1", "status=502@/articles/*1"});
  const auto reply = get("/articles/a-rail.txt");
  EXPECT_EQ(reply.status, 502);
  EXPECT_GE(reply.elapsed, milliseconds(290));
}

TEST_F(ReplayFaults, TruncateAnnouncesTheWholeBodyAndSendsHalf) {
  start_with({"truncate@/articles/*1"});
  const auto cut = get("/articles/a-rail.txt");
  EXPECT_EQ(cut.code, CURLE_PARTIAL_FILE) << curl_easy_strerror(cut.code);
  EXPECT_EQ(cut.body, kRail.substr(0, kRail.size() / 2));
  EXPECT_EQ(cut.header("content-length"), std::to_string(kRail.size()));
  const auto whole = get("/articles/a-rail.txt");
  EXPECT_EQ(whole.code, CURLE_OK);
  EXPECT_EQ(whole.body, kRail);
}

TEST_F(ReplayFaults, WrongCharsetAndNoCharset) {
  start_with({"wrong-charset=windows-1252@/articles/a*1", "wrong-charset@/rss.xml*1", "no-charset@/articles/b*1"});
  EXPECT_EQ(get("/articles/a-rail.txt").header("content-type"), "text/plain; charset=windows-1252");
  EXPECT_EQ(get("/articles/a-rail.txt").header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(get("/rss.xml").header("content-type"), "application/rss+xml; charset=iso-8859-1");
  EXPECT_EQ(get("/rss.xml").header("content-type"), "application/rss+xml; charset=utf-8");
  const auto bare = get("/articles/b-delta.txt");
  EXPECT_EQ(bare.header("content-type"), "text/plain");
  EXPECT_EQ(bare.body, kDelta);
  EXPECT_EQ(get("/articles/b-delta.txt").header("content-type"), "text/plain; charset=utf-8");
}

TEST_F(ReplayFaults, RedirectLoopForever) {
  auto& server = start_with({"redirect-loop@/articles/"});
  const auto once = get("/articles/a-rail.txt");
  EXPECT_EQ(once.status, 302);
  EXPECT_EQ(once.header("location"), "/articles/a-rail.txt?loop=1");
  EXPECT_EQ(get("/articles/a-rail.txt?loop=7").header("location"), "/articles/a-rail.txt?loop=8");
  const auto followed = get("/articles/b-delta.txt", {.follow = true, .max_redirects = 5});
  EXPECT_EQ(followed.code, CURLE_TOO_MANY_REDIRECTS);
  EXPECT_EQ(server.requests_for("/articles/b-delta.txt"), 6u);
}

TEST_F(ReplayFaults, RedirectLoopWithACountEnds) {
  start_with({"redirect-loop@/rss.xml*3"});
  const auto followed = get("/rss.xml", {.follow = true, .max_redirects = 5});
  EXPECT_EQ(followed.code, CURLE_OK);
  EXPECT_EQ(followed.status, 200);
  EXPECT_TRUE(Xml(followed.body).well_formed());
}

TEST_F(ReplayFaults, GzipBomb) {
  start_with({"gzip-bomb=2@/articles/*1"});
  const auto bomb = get("/articles/c-forum.html");
  EXPECT_EQ(bomb.status, 200);
  EXPECT_EQ(bomb.header("content-encoding"), "gzip");
  EXPECT_LT(bomb.body.size(), 64u * 1024);
  const std::string inflated = gunzip(bomb.body);
  EXPECT_EQ(inflated.size(), 2u << 20);
  EXPECT_EQ(inflated.find_first_not_of('\0'), std::string::npos);
  const auto normal = get("/articles/c-forum.html");
  EXPECT_EQ(normal.header("content-encoding"), "");
  EXPECT_EQ(normal.body, kForum);
}

TEST_F(ReplayFaults, Oversize) {
  start_with({"oversize=3@/articles/*1"});
  const auto huge = get("/articles/a-rail.txt");
  EXPECT_EQ(huge.status, 200);
  EXPECT_EQ(huge.body.size(), 3u << 20);
  EXPECT_EQ(huge.header("content-length"), std::to_string(3u << 20));
  EXPECT_EQ(get("/articles/a-rail.txt").body, kRail);
}

TEST_F(ReplayFaults, DefaultSizesOfTheBodyFaults) {
  EXPECT_EQ(parse_fault("gzip-bomb@/")->arg, 64);
  EXPECT_EQ(parse_fault("oversize@/")->arg, 64);
  EXPECT_EQ(parse_fault("wrong-charset@/")->charset, "iso-8859-1");
}

TEST(ReplayParseFault, ReadsKindArgPrefixAndCount) {
  auto fault = parse_fault("status=500@/articles/*2");
  ASSERT_TRUE(fault.ok()) << fault.error();
  EXPECT_EQ(fault->kind, Fault::Kind::Status);
  EXPECT_EQ(fault->arg, 500);
  EXPECT_EQ(fault->path_prefix, "/articles/");
  EXPECT_EQ(fault->count, 2);

  const std::pair<const char*, Fault::Kind> kinds[] = {
      {"delay=250@/rss.xml", Fault::Kind::Delay},      {"retry-after=30@/", Fault::Kind::RetryAfter},
      {"truncate@/articles/", Fault::Kind::Truncate},  {"wrong-charset=koi8-r@/", Fault::Kind::WrongCharset},
      {"no-charset@/", Fault::Kind::NoCharset},        {"redirect-loop@/a*0", Fault::Kind::RedirectLoop},
      {"gzip-bomb=8@/sitemap", Fault::Kind::GzipBomb}, {"oversize=1@/", Fault::Kind::Oversize},
  };
  for (const auto& [spec, kind] : kinds) {
    auto parsed = parse_fault(spec);
    ASSERT_TRUE(parsed.ok()) << spec << ": " << parsed.error();
    EXPECT_EQ(parsed->kind, kind) << spec;
    EXPECT_EQ(parsed->count, 0) << spec;
  }
  EXPECT_EQ(parse_fault("delay=250@/rss.xml")->arg, 250);
  EXPECT_EQ(parse_fault("wrong-charset=koi8-r@/")->charset, "koi8-r");
  auto windowed = parse_fault("status=503@/inbox*5~10");
  ASSERT_TRUE(windowed.ok()) << windowed.error();
  EXPECT_EQ(windowed->path_prefix, "/inbox");
  EXPECT_EQ(windowed->count, 5);
  EXPECT_EQ(windowed->window, std::chrono::seconds(10));
}

TEST(ReplayParseFault, RejectsBadSpecsWithAReason) {
  const std::pair<const char*, const char*> bad[] = {
      {"", "no @PREFIX"},
      {"status=500", "no @PREFIX"},
      {"boom@/", "unknown kind \"boom\""},
      {"status@/", "status needs =ARG"},
      {"status=abc@/", "an HTTP status from 200 to 599"},
      {"status=99@/", "an HTTP status from 200 to 599"},
      {"delay=-1@/", "milliseconds from 0"},
      {"truncate=3@/", "truncate takes no =ARG"},
      {"status=500@articles", "PREFIX must be a path"},
      {"status=500@/x*y", "COUNT must be a whole number"},
      {"status=500@/x*", "COUNT must be a whole number"},
      {"oversize=0@/", "MiB from 1 to 1024"},
      {"gzip-bomb=5000@/", "MiB from 1 to 1024"},
      {"wrong-charset=no good@/", "charset name"},
      {"status=503@/inbox~0", "~SECONDS must be a whole number of seconds above 0"},
      {"status=503@/inbox~x", "~SECONDS must be a whole number"},
  };
  for (const auto& [spec, reason] : bad) {
    auto parsed = parse_fault(spec);
    ASSERT_FALSE(parsed.ok()) << spec;
    EXPECT_NE(parsed.error().find(reason), std::string::npos) << spec << ": " << parsed.error();
    EXPECT_NE(parsed.error().find(std::string("bad fault \"") + spec + "\""), std::string::npos) << parsed.error();
  }
}

}  // namespace
}  // namespace vnawire::replay::testing
