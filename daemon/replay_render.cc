// The replay site's pages: home page, RSS, Atom, sitemaps and robots.txt, plus the escaping and date formats
// they need. Every page is built from the released articles, newest first.
#include <cstdio>
#include <ctime>

#include "daemon/replay_site.h"
#include "stages/runtime/codec.h"

namespace vnawire::replay {
namespace {

constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::tm utc(Clock::time_point time) {
  const std::time_t seconds = Clock::to_time_t(time);
  std::tm fields{};
  ::gmtime_r(&seconds, &fields);
  return fields;
}

std::optional<int> month_number(const char* name) {
  for (int month = 0; month < 12; ++month) {
    if (std::string_view(kMonths[month]) == name) return month;
  }
  return std::nullopt;
}

std::string article_url(const SiteInfo& site, const Article& article) {
  return site.base + "/articles/" + percent_encode(article.name);
}

// When the feed last changed: the newest release, or the epoch for an empty site (stable, so ETags hold).
Clock::time_point last_release(const std::vector<ReleasedArticle>& articles) {
  Clock::time_point newest{};
  for (const auto& item : articles) newest = std::max(newest, item.released_at);
  return newest;
}

constexpr const char* kXmlDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

}  // namespace

std::string xml_escape(std::string_view text) {
  if (!runtime::is_valid_utf8(text)) return xml_escape(latin1_to_utf8(text));
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += c;
    }
  }
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex(text[i + 1]), low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::string http_date(Clock::time_point time) {
  const std::tm t = utc(time);
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kWeekdays[t.tm_wday], t.tm_mday,
                kMonths[t.tm_mon], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
  return text;
}

std::string iso_date(Clock::time_point time) {
  const std::tm t = utc(time);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec);
  return text;
}

// The three forms HTTP recipients must accept (RFC 9110 §5.6.7): IMF-fixdate, RFC 850 and asctime.
std::optional<Clock::time_point> parse_http_date(std::string_view text) {
  const std::string input(text.substr(0, 64));
  std::tm t{};
  char month[4] = {};
  int year = 0;
  const bool parsed = std::sscanf(input.c_str(), "%*3s, %2d %3s %4d %2d:%2d:%2d GMT", &t.tm_mday, month, &year,
                                  &t.tm_hour, &t.tm_min, &t.tm_sec) == 6 ||
                      std::sscanf(input.c_str(), "%*[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT", &t.tm_mday, month, &year,
                                  &t.tm_hour, &t.tm_min, &t.tm_sec) == 6 ||
                      std::sscanf(input.c_str(), "%*3s %3s %d %2d:%2d:%2d %4d", month, &t.tm_mday, &t.tm_hour,
                                  &t.tm_min, &t.tm_sec, &year) == 6;
  const auto month_index = parsed ? month_number(month) : std::nullopt;
  if (!month_index) return std::nullopt;
  if (year < 100) year += year < 70 ? 2000 : 1900;
  t.tm_mon = *month_index;
  t.tm_year = year - 1900;
  const std::time_t seconds = ::timegm(&t);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return Clock::from_time_t(seconds);
}

std::string render_home(const SiteInfo& site, const std::vector<ReleasedArticle>& articles) {
  const std::string title = xml_escape(site.title);
  std::string page = "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + title +
                     "</title>\n<link rel=\"alternate\" type=\"application/rss+xml\" title=\"" + title +
                     " (RSS)\" href=\"/rss.xml\">\n<link rel=\"alternate\" type=\"application/atom+xml\" title=\"" +
                     title + " (Atom)\" href=\"/atom.xml\">\n</head>\n<body>\n<h1>" + title + "</h1>\n";
  if (articles.empty()) page += "<p>Nothing released yet.</p>\n";
  page += "<ul class=\"articles\">\n";
  for (const auto& item : articles) {
    const std::string released = iso_date(item.released_at);
    page += "<li><a href=\"/articles/" + percent_encode(item.article->name) + "\">" + xml_escape(item.article->title) +
            "</a> <time datetime=\"" + released + "\">" + released + "</time></li>\n";
  }
  page += "</ul>\n</body>\n</html>\n";
  return page;
}

std::string render_rss(const SiteInfo& site, const std::vector<ReleasedArticle>& articles) {
  std::string xml = kXmlDeclaration;
  xml += "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n<title>" +
         xml_escape(site.title) + "</title>\n<link>" + xml_escape(site.base) +
         "/</link>\n<description>Dispatches replayed by vnawire</description>\n<atom:link href=\"" +
         xml_escape(site.base) + "/rss.xml\" rel=\"self\" type=\"application/rss+xml\"/>\n<lastBuildDate>" +
         http_date(last_release(articles)) + "</lastBuildDate>\n";
  for (const auto& item : articles) {
    const std::string url = xml_escape(article_url(site, *item.article));
    xml += "<item>\n<title>" + xml_escape(item.article->title) + "</title>\n<link>" + url +
           "</link>\n<guid isPermaLink=\"true\">" + url + "</guid>\n<pubDate>" + http_date(item.released_at) +
           "</pubDate>\n</item>\n";
  }
  xml += "</channel>\n</rss>\n";
  return xml;
}

std::string render_atom(const SiteInfo& site, const std::vector<ReleasedArticle>& articles) {
  const std::string base = xml_escape(site.base);
  std::string xml = kXmlDeclaration;
  xml += "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<title>" + xml_escape(site.title) + "</title>\n<id>" + base +
         "/</id>\n<updated>" + iso_date(last_release(articles)) + "</updated>\n<link rel=\"self\" " +
         "type=\"application/atom+xml\" href=\"" + base + "/atom.xml\"/>\n<link rel=\"alternate\" " +
         "type=\"text/html\" href=\"" + base + "/\"/>\n<author><name>" + xml_escape(site.title) + "</name></author>\n";
  for (const auto& item : articles) {
    const std::string url = xml_escape(article_url(site, *item.article));
    // A file edited after its release shows the edit as the entry's update.
    const auto updated = std::max(item.released_at, item.article->modified);
    xml += "<entry>\n<title>" + xml_escape(item.article->title) + "</title>\n<id>" + url +
           "</id>\n<link rel=\"alternate\" href=\"" + url + "\"/>\n<published>" + iso_date(item.released_at) +
           "</published>\n<updated>" + iso_date(updated) + "</updated>\n</entry>\n";
  }
  xml += "</feed>\n";
  return xml;
}

std::string render_sitemap_index(const SiteInfo& site, const std::vector<ReleasedArticle>& articles) {
  const std::string lastmod = "<lastmod>" + iso_date(last_release(articles)) + "</lastmod>";
  const std::string base = xml_escape(site.base);
  return std::string(kXmlDeclaration) + "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n" +
         "<sitemap><loc>" + base + "/sitemap-news.xml</loc>" + lastmod + "</sitemap>\n" + "<sitemap><loc>" + base +
         "/sitemap-all.xml.gz</loc>" + lastmod + "</sitemap>\n</sitemapindex>\n";
}

std::string render_news_sitemap(const SiteInfo& site, const std::vector<ReleasedArticle>& articles) {
  std::string xml = kXmlDeclaration;
  xml +=
      "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" "
      "xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\n";
  const std::string publication = "<news:publication><news:name>" + xml_escape(site.title) +
                                  "</news:name><news:language>fr</news:language></news:publication>";
  for (const auto& item : articles) {
    xml += "<url>\n<loc>" + xml_escape(article_url(site, *item.article)) + "</loc>\n<lastmod>" +
           iso_date(item.article->modified) + "</lastmod>\n<news:news>" + publication + "<news:publication_date>" +
           iso_date(item.released_at) + "</news:publication_date><news:title>" + xml_escape(item.article->title) +
           "</news:title></news:news>\n</url>\n";
  }
  xml += "</urlset>\n";
  return xml;
}

std::string render_plain_sitemap(const SiteInfo& site, const std::vector<ReleasedArticle>& articles) {
  std::string xml = kXmlDeclaration;
  xml += "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
  for (const auto& item : articles) {
    xml += "<url><loc>" + xml_escape(article_url(site, *item.article)) + "</loc><lastmod>" +
           iso_date(item.article->modified) + "</lastmod></url>\n";
  }
  xml += "</urlset>\n";
  return xml;
}

std::string render_robots(const SiteInfo& site, const std::vector<std::string>& disallow, double crawl_delay) {
  std::string text = "User-agent: *\n";
  for (const auto& prefix : disallow) text += "Disallow: " + prefix + "\n";
  if (disallow.empty()) text += "Disallow:\n";
  if (crawl_delay > 0) {
    char delay[32];
    std::snprintf(delay, sizeof delay, "%g", crawl_delay);
    text += std::string("Crawl-delay: ") + delay + "\n";
  }
  text += "\nSitemap: " + site.base + "/sitemap.xml\n";
  return text;
}

}  // namespace vnawire::replay
