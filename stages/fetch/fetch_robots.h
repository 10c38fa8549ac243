// robots.txt (RFC 9309): the rules for one user agent, Crawl-delay, and the Sitemap: lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vnawire::fetch {

class RobotsRules {
 public:
  // Rules of the group whose User-agent line matches `agent_token` (case-insensitive product token, e.g.
  // "vnawire"), merged when several groups match; otherwise the "*" group; otherwise everything allowed.
  // Tolerates CRLF, BOM, comments, missing blank lines and unknown directives; reads at most 500 KiB.
  static RobotsRules parse(std::string_view text, std::string_view agent_token);
  static RobotsRules allow_all();
  static RobotsRules disallow_all();

  // `path` is the path and query of a URL. The longest matching rule wins, Allow on a tie; `*` matches any
  // run of characters and a final `$` anchors the end; percent-encoding is compared normalised.
  bool allowed(std::string_view path) const;
  std::optional<double> crawl_delay_seconds() const { return crawl_delay_; }
  // Every Sitemap: line of the file, whatever its group.
  const std::vector<std::string>& sitemaps() const { return sitemaps_; }

 private:
  struct Rule {
    bool allow;
    std::string pattern;
  };
  std::vector<Rule> rules_;
  std::optional<double> crawl_delay_;
  std::vector<std::string> sitemaps_;
  bool disallow_all_ = false;
};

}  // namespace vnawire::fetch
