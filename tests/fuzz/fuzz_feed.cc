// Fuzz target: the fetcher's readers of untrusted XML and HTML (feeds, sitemaps, feed discovery, listing links).
#include "stages/fetch/fetch_feed.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vnawire::fetch;
  const std::string_view text = vnawire::fuzz::as_text(data, size);
  const std::string_view url = "https://fr.vietnamplus.vn/rss/actualites.rss";
  (void)parse_feed(text, url);
  (void)parse_sitemap(text, url, 1 << 20);
  (void)discover_feeds(text, url);
  static const LinkPattern every_link = compile_link_pattern("");
  (void)listing_links(text, url, every_link, "");
  // A listing source's filter as a configuration would write it: matched against URLs the page controls.
  static const LinkPattern article_links = compile_link_pattern("/fr/.*-post[0-9]+\\.vnp$");
  (void)listing_links(text, url, article_links, "//article");
  return 0;
}
