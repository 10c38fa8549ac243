// What the fetcher reads to find articles: RSS/Atom feeds, sitemaps, home pages and listing pages.
#pragma once

#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "stages/runtime/status.h"

namespace vnawire::fetch {

struct FeedEntry {
  std::string url;        // absolute (resolved against the feed URL)
  std::string title;      // text, entities decoded, white space collapsed
  std::string published;  // ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ", or "" when absent/unparsable
  std::string updated;    // the same for Atom <updated>, RSS 1.0 dc:date, or ""
  std::string guid;       // RSS <guid>, Atom <id>, RSS 1.0 rdf:about; the url when absent
};

struct Feed {
  std::string format;  // "rss2", "atom" or "rss1"
  std::string title;
  std::string language;            // RSS <language>, Atom xml:lang on the root, RSS 1.0 dc:language; "" when absent
  std::vector<FeedEntry> entries;  // in document order; entries without a usable link are skipped
};

// Parses RSS 2.0 (and 0.9x), Atom 1.0 and RSS 1.0 (RDF). No network access, no external entities.
// Errors say what is wrong ("not well-formed XML at line 12: …", "not a feed: root element <html>").
runtime::Result<Feed> parse_feed(std::string_view xml, std::string_view feed_url);

struct SitemapEntry {
  std::string url;             // <loc>, absolute
  std::string lastmod;         // ISO 8601 UTC or ""
  std::string news_title;      // <news:title> of a Google News sitemap, or ""
  std::string news_published;  // <news:publication_date>, ISO 8601 UTC, or ""
  std::string news_language;   // <news:publication><news:language> of a Google News sitemap, or ""
};

struct Sitemap {
  bool is_index = false;  // a <sitemapindex>: entries are sitemaps, not pages
  std::vector<SitemapEntry> entries;
};

// Parses a <urlset> (plain or Google News) or a <sitemapindex>. `data` may be gzip-compressed (.xml.gz served
// without Content-Encoding); it is inflated up to `max_bytes`, beyond which it is an error.
runtime::Result<Sitemap> parse_sitemap(std::string_view data, std::string_view sitemap_url, std::size_t max_bytes);

// Feeds a home page announces: <link rel="alternate" type="application/rss+xml|application/atom+xml" href>,
// resolved against `page_url`, in page order, without repeats.
std::vector<std::string> discover_feeds(std::string_view html, std::string_view page_url);

// The link filter of a listing source, compiled once when the source is set up: building a std::regex costs far
// more than matching one, and a source's pages are polled for as long as the fetcher runs.
struct LinkPattern {
  std::string text;                 // as configured; "" takes every link
  std::optional<std::regex> regex;  // `text` compiled as ECMAScript; unset when `text` is "", invalid or over 1 KB
  std::string error;                // why `text` does not compile, "" when it does
};
LinkPattern compile_link_pattern(std::string text);

// Article links of a listing page: the href of every <a> whose resolved URL matches `link_pattern` (when not
// empty) and lies under the nodes `xpath` selects (when not empty: elements, or attributes whose values are
// taken as links). Resolved, without fragments, in page order, without repeats; links over 4 KB are not article
// links and are skipped. Errors for a bad pattern or XPath.
runtime::Result<std::vector<std::string>> listing_links(std::string_view html, std::string_view page_url,
                                                        const LinkPattern& link_pattern, const std::string& xpath);

// RFC 822 / RFC 1123 dates (with or without weekday, named or numeric zones) and ISO 8601 / W3C datetime
// (date only, with or without seconds or fraction, Z or ±hh:mm) as ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ";
// "" when unparsable.
std::string normalise_date(std::string_view text);

}  // namespace vnawire::fetch
