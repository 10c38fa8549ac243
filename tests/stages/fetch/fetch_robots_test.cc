// Fetch robots.txt: groups and agent matching, wildcard and anchor rules, ties, Crawl-delay, Sitemap, odd files.
#include "stages/fetch/fetch_robots.h"

#include <gtest/gtest.h>

#include <chrono>

namespace vnawire::fetch {
namespace {

using Paths = std::initializer_list<std::string_view>;

RobotsRules parse(std::string_view text) { return RobotsRules::parse(text, "vnawire"); }

// Every path of `allowed` must be allowed and every path of `refused` refused.
void expect_paths(const RobotsRules& rules, Paths allowed, Paths refused) {
  for (const auto path : allowed) EXPECT_TRUE(rules.allowed(path)) << "should be allowed: " << path;
  for (const auto path : refused) EXPECT_FALSE(rules.allowed(path)) << "should be refused: " << path;
}

TEST(FetchRobots, EmptyOrMissingRulesAllowEverything) {
  expect_paths(parse(""), {"/", "/tin-tuc"}, {});
  expect_paths(parse("# only a comment\n"), {"/", "/tin-tuc"}, {});
  expect_paths(RobotsRules::allow_all(), {"/", "/anything?x=1"}, {});
  EXPECT_FALSE(parse("").crawl_delay_seconds().has_value());
  EXPECT_TRUE(parse("").sitemaps().empty());
}

TEST(FetchRobots, DisallowAllRefusesEverything) {
  expect_paths(RobotsRules::disallow_all(), {}, {"/", "/robots.txt", ""});
}

TEST(FetchRobots, PrefixRulesAndEmptyDisallow) {
  expect_paths(parse("User-agent: *\nDisallow: /rieng-tu\nDisallow:\n"),
               {"/cong-khai", "/Rieng-tu" /* paths are case-sensitive */},
               {"/rieng-tu", "/rieng-tu/ho-so.html", "/rieng-tu-khac"});
  expect_paths(parse("User-agent: *\nDisallow:\n"), {"/any"}, {});
  expect_paths(parse("User-agent: *\nDisallow: /\n"), {}, {"/any"});
  expect_paths(parse("User-agent: *\nAllow:\nDisallow: /x\n"), {"/y"}, {"/x"});
}

TEST(FetchRobots, LongestMatchWinsAndAllowWinsTies) {
  const auto rules = parse(
      "User-agent: *\n"
      "Disallow: /tin/\n"
      "Allow: /tin/cong-khai/\n"
      "Disallow: /tin/cong-khai/nhap/\n"
      "Allow: /ab\n"
      "Disallow: /ab\n"
      "Disallow: /cd\n"
      "Allow: /c*\n");
  expect_paths(rules,
               {"/tin/cong-khai/bai.html",
                "/abc",  // same length: Allow
                "/cd"},  // "/c*" and "/cd" are both three octets long
               {"/tin/bai.html", "/tin/cong-khai/nhap/bai.html"});
  // Order in the file does not matter.
  expect_paths(parse("User-agent: *\nDisallow: /ab\nAllow: /ab\n"), {"/ab"}, {});
}

TEST(FetchRobots, WildcardsAndEndAnchor) {
  const auto rules = parse(
      "User-agent: *\n"
      "Disallow: /*.pdf$\n"
      "Disallow: /*?phien=\n"
      "Disallow: /bai-*/in\n"
      "Allow: /$\n"
      "Disallow: /\n"
      "Allow: /tin\n");
  expect_paths(rules,
               {"/", "/tin/bao-cao.html",
                "/tin/bao-cao.pdf?tai=1",                        // the anchor wants the end right after .pdf
                "/tin/bao-cao.pdf.html", "/tin/a?x=1&phien=9"},  // the pattern wants "?phien=", not "&phien="
               {"/gioi-thieu", "/tin/bao-cao.pdf", "/tin/a?phien=9", "/bai-123/in", "/bai-/in/trang"});
}

TEST(FetchRobots, StarsMatchEmptyRunsAndDollarOnlyAtTheEnd) {
  expect_paths(parse("User-agent: *\nDisallow: /a*b*c\n"), {"/a-c-b"}, {"/abc", "/a-x-b-y-c-z"});
  expect_paths(parse("User-agent: *\nDisallow: *\n"), {}, {"/"});
  expect_paths(parse("User-agent: *\nDisallow: /*$\n"), {}, {"/x/y"});
  expect_paths(parse("User-agent: *\nDisallow: /gia$100\n"), {}, {"/gia$100/x"});  // "$" inside is literal
  expect_paths(parse("User-agent: *\nDisallow: /exact$\n"), {"/exact/"}, {"/exact"});
}

TEST(FetchRobots, HostilePatternsStayFast) {
  std::string pattern = "/";
  for (int i = 0; i < 200; ++i) pattern += "*a";
  pattern += "b";
  const auto rules = parse("User-agent: *\nDisallow: " + pattern + "\n");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(rules.allowed("/" + std::string(2000, 'a')));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(FetchRobots, PercentEncodingComparedNormalised) {
  const auto rules = parse(
      "User-agent: *\n"
      "Disallow: /%7Enguoi-dung\n"
      "Disallow: /tìm-kiếm\n"
      "Disallow: /a%2fb\n");
  expect_paths(
      rules, {"/a/b"},  // an encoded slash is not a slash
      {"/~nguoi-dung/trang", "/%7enguoi-dung", "/t%C3%ACm-ki%E1%BA%BFm?q=1", "/t%c3%acm-ki%e1%ba%bfm", "/a%2Fb"});
}

TEST(FetchRobots, OwnGroupBeatsStarAndGroupsMerge) {
  const std::string text =
      "User-agent: *\n"
      "Disallow: /\n"
      "\n"
      "User-agent: VNAwire\n"
      "Disallow: /nhap\n"
      "\n"
      "User-agent: otherbot\n"
      "Disallow: /tin\n"
      "\n"
      "User-agent: vnawire/2.0\n"
      "Disallow: /luu-tru\n";
  expect_paths(RobotsRules::parse(text, "vnawire"), {"/tin"}, {"/nhap/1", "/luu-tru/2"});
  expect_paths(RobotsRules::parse(text, "otherbot"), {"/nhap"}, {"/tin/1"});
  expect_paths(RobotsRules::parse(text, "strangerbot"), {}, {"/tin"});
  // Our own full user-agent string is reduced to its product token.
  expect_paths(RobotsRules::parse(text, "VNAwire/1.0 (+https://example.vn/bot)"), {"/tin"}, {"/nhap"});
}

TEST(FetchRobots, AgentTokensMatchWholeNotPrefix) {
  const std::string text = "User-agent: vnawire-news\nDisallow: /\n\nUser-agent: vna\nDisallow: /\n";
  expect_paths(RobotsRules::parse(text, "vnawire"), {"/x"}, {});
  expect_paths(RobotsRules::parse(text, "vnawire-news"), {}, {"/x"});
}

TEST(FetchRobots, ConsecutiveAgentLinesShareOneGroup) {
  const std::string text =
      "User-agent: alphabot\n"
      "User-agent: vnawire\n"
      "Disallow: /chung\n"
      "User-agent: betabot\n"  // no blank line: a rule already closed the agent list
      "Disallow: /beta\n";
  expect_paths(parse(text), {"/beta"}, {"/chung"});
  expect_paths(RobotsRules::parse(text, "alphabot"), {"/beta"}, {"/chung"});
  expect_paths(RobotsRules::parse(text, "betabot"), {"/chung"}, {"/beta"});
}

TEST(FetchRobots, RulesOutsideAnyGroupAreIgnored) {
  expect_paths(parse("Disallow: /truoc\nSitemap: https://example.vn/s.xml\nUser-agent: *\nDisallow: /sau\n"),
               {"/truoc"}, {"/sau"});
}

TEST(FetchRobots, CrawlDelayOfTheChosenGroup) {
  EXPECT_EQ(parse("User-agent: *\nCrawl-delay: 5\n").crawl_delay_seconds(), 5.0);
  EXPECT_EQ(parse("User-agent: *\ncrawl-delay: 0.25\n").crawl_delay_seconds(), 0.25);
  EXPECT_EQ(parse("User-agent: *\nCrawl-delay:  2.5  # chậm thôi\n").crawl_delay_seconds(), 2.5);
  for (const char* unreadable : {"soon", "-3", "5s", "inf", "nan", ""}) {
    EXPECT_FALSE(parse(std::string("User-agent: *\nCrawl-delay: ") + unreadable + "\n").crawl_delay_seconds())
        << unreadable;
  }
  // Ours has none, so the "*" group's delay does not apply either.
  EXPECT_FALSE(parse("User-agent: *\nCrawl-delay: 9\n\nUser-agent: vnawire\nDisallow: /x\n").crawl_delay_seconds());
  // Two of our groups: the longer delay.
  EXPECT_EQ(parse("User-agent: vnawire\nCrawl-delay: 1\n\nUser-agent: vnawire\nCrawl-delay: 3\n").crawl_delay_seconds(),
            3.0);
  EXPECT_FALSE(parse("User-agent: otherbot\nCrawl-delay: 7\n").crawl_delay_seconds());
}

TEST(FetchRobots, SitemapsFromAnywhere) {
  const auto rules = parse(
      "Sitemap: https://example.vn/sitemap.xml\n"
      "User-agent: otherbot\n"
      "Disallow: /\n"
      "SITEMAP:https://example.vn/tin-tuc.xml\n"
      "Sitemap: https://example.vn/sitemap.xml\n"
      "Sitemap:\n");
  EXPECT_EQ(rules.sitemaps(),
            (std::vector<std::string>{"https://example.vn/sitemap.xml", "https://example.vn/tin-tuc.xml"}));
}

TEST(FetchRobots, ToleratesCrlfBomCommentsCaseAndTypos) {
  const std::string text =
      "\xEF\xBB\xBF"
      "# robots cho trang tin\r\n"
      "USER-AGENT: *   # mọi robot\r\n"
      "  disallow :   /quan-tri   \r\n"
      "Dissallow: /nhap\r"
      "Noindex: /ignored\r\n"
      "Allow: /quan-tri/cong-khai\r\n"
      "no colon here\r\n";
  expect_paths(parse(text), {"/quan-tri/cong-khai/a", "/ignored"}, {"/quan-tri/cai-dat", "/nhap"});
  // The BOM does not hide the first line.
  expect_paths(parse("\xEF\xBB\xBFUser-agent: *\nDisallow: /a\n"), {"/b"}, {"/a"});
}

TEST(FetchRobots, PatternsWithoutLeadingSlash) {
  expect_paths(parse("User-agent: *\nDisallow: rieng\nDisallow: *.bak\n"), {"/x/rieng"}, {"/rieng/1", "/x/y.bak"});
}

TEST(FetchRobots, RobotsTxtItselfIsAlwaysAllowedAndEmptyPathIsTheRoot) {
  expect_paths(parse("User-agent: *\nDisallow: /\n"), {"/robots.txt"}, {"/robots.txt.bak"});
  expect_paths(parse("User-agent: *\nDisallow: /$\n"), {"/a"}, {""});
}

TEST(FetchRobots, HugeFileIsReadUpTo500KiB) {
  std::string text = "User-agent: *\nDisallow: /dau\n";
  while (text.size() < 499 * 1024) text += "# padding padding padding padding padding padding padding padding\n";
  text += "Disallow: /giua\n";
  while (text.size() < 600 * 1024) text += "# more padding more padding more padding more padding more padding\n";
  text += "Disallow: /cuoi\n";
  expect_paths(parse(text), {"/cuoi"}, {"/dau", "/giua"});
}

TEST(FetchRobots, CutLineAtTheLimitIsDropped) {
  const std::string head = "User-agent: *\n";
  const std::string cut_rule = "Disallow: /abcdef\n";
  std::string text = head + std::string(500 * 1024 - head.size() - 1 - 12, '#') + "\n" + cut_rule;
  ASSERT_EQ(text.find(cut_rule), 500u * 1024 - 12);      // only "Disallow: /a" lies within the limit
  expect_paths(parse(text), {"/abzzz", "/abcdef"}, {});  // a half-read rule does not apply
}

TEST(FetchRobots, ManyRulesStayUsable) {
  std::string text = "User-agent: *\n";
  for (int i = 0; i < 20000; ++i) text += "Disallow: /muc-" + std::to_string(i) + "/\n";
  expect_paths(parse(text), {"/muc-20000/bai"}, {"/muc-19999/bai", "/muc-0/"});
}

}  // namespace
}  // namespace vnawire::fetch
