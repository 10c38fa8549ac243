// robots.txt (RFC 9309): one pass over the lines keeps the groups that name our agent and the "*" groups apart.
#include "stages/fetch/fetch_robots.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "stages/fetch/fetch_text.h"
#include "stages/fetch/fetch_url.h"

namespace vnawire::fetch {
namespace {

// RFC 9309 2.5: crawlers must read at least 500 KiB; past that a file is cut rather than refused.
constexpr std::size_t kMaxRobotsBytes = 500 * 1024;

enum class Directive { kUserAgent, kAllow, kDisallow, kCrawlDelay, kSitemap, kOther };

// Directive names are case-insensitive; a few misspellings are common enough in the wild that Google's
// parser accepts them, and honouring a Disallow the author plainly meant is the polite reading.
Directive directive_of(std::string_view key) {
  const std::string name = ascii_lowered(trim(key));
  if (name == "user-agent" || name == "useragent" || name == "user agent") return Directive::kUserAgent;
  if (name == "allow") return Directive::kAllow;
  static constexpr std::array<std::string_view, 5> kDisallow = {"disallow", "dissallow", "dissalow", "disalow",
                                                                "disallaw"};
  if (std::find(kDisallow.begin(), kDisallow.end(), name) != kDisallow.end()) return Directive::kDisallow;
  if (name == "crawl-delay" || name == "crawldelay") return Directive::kCrawlDelay;
  if (name == "sitemap" || name == "site-map") return Directive::kSitemap;
  return Directive::kOther;
}

// The product token of a User-agent value or of our own name: "Googlebot/2.1 (+http://…)" → "googlebot".
std::string product_token(std::string_view value) {
  value = trim(value);
  const std::size_t end = value.find_first_of(" \t/");
  return ascii_lowered(value.substr(0, end));
}

std::optional<double> parse_delay(std::string_view value) {
  value = trim(value);
  double seconds = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
  if (!std::isfinite(seconds) || seconds < 0) return std::nullopt;
  return seconds;
}

// Patterns must start at the root; "Disallow: private" most likely means "/private".
std::string normalized_pattern(std::string_view value) {
  std::string pattern = normalize_percent_encoding(value);
  if (pattern.front() != '/' && pattern.front() != '*') pattern.insert(pattern.begin(), '/');
  return pattern;
}

// `*` matches any run (including none), a final `$` anchors the end, and otherwise a pattern is a prefix.
// The set of pattern positions reachable so far is carried along the path: time is path length times pattern
// length, with no backtracking to blow up on a hostile "*a*a*a*…" pattern.
bool pattern_matches(std::string_view pattern, std::string_view path) {
  const bool anchored = !pattern.empty() && pattern.back() == '$';
  if (anchored) pattern.remove_suffix(1);
  const std::size_t first_star = pattern.find('*');
  // Most rules are plain prefixes; and a literal head that differs settles it before any bookkeeping.
  if (!path.starts_with(pattern.substr(0, first_star))) return false;
  if (first_star == std::string_view::npos) return !anchored || path.size() == pattern.size();
  std::vector<char> reachable(pattern.size() + 1, 0);
  std::vector<char> next(pattern.size() + 1, 0);
  auto close_over_stars = [&](std::vector<char>& positions) {
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (positions[i] && pattern[i] == '*') positions[i + 1] = 1;
    }
  };
  reachable[0] = 1;
  close_over_stars(reachable);
  for (char c : path) {
    if (!anchored && reachable[pattern.size()]) return true;
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (!reachable[i]) continue;
      if (pattern[i] == '*') {
        next[i] = 1;  // the star takes c and may take more
        any = true;
      } else if (pattern[i] == c) {
        next[i + 1] = 1;
        any = true;
      }
    }
    if (!any) return false;
    close_over_stars(next);
    reachable.swap(next);
  }
  return reachable[pattern.size()] != 0;
}

// The rules and delay gathered for one kind of group (ours, or "*").
struct GroupRules {
  bool matched = false;
  std::vector<std::pair<bool, std::string>> rules;
  std::optional<double> crawl_delay;
};

// A file cut at the size limit may end in half a line; a half rule ("Allow: /a" from "Allow: /abc") is
// worse than none, so the cut falls on the last line break.
std::string_view bounded(std::string_view text) {
  if (text.size() <= kMaxRobotsBytes) return text;
  text = text.substr(0, kMaxRobotsBytes);
  const std::size_t last_break = text.find_last_of("\r\n");
  return last_break == std::string_view::npos ? std::string_view() : text.substr(0, last_break);
}

}  // namespace

RobotsRules RobotsRules::parse(std::string_view text, std::string_view agent_token) {
  text = bounded(text);
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::string ours = product_token(agent_token);

  RobotsRules result;
  GroupRules specific;
  GroupRules global;
  // Consecutive User-agent lines open one group; the first rule closes the list of agents.
  bool group_is_ours = false;
  bool group_is_global = false;
  bool group_has_rules = true;  // so that the first User-agent line opens a group

  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (end < text.size() && text[end] == '\r' && start < text.size() && text[start] == '\n') ++start;

    line = line.substr(0, line.find('#'));
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const Directive directive = directive_of(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));

    switch (directive) {
      case Directive::kUserAgent: {
        if (group_has_rules) group_is_ours = group_is_global = group_has_rules = false;
        const std::string agent = product_token(value);
        if (agent == "*") group_is_global = true;
        if (!ours.empty() && agent == ours) group_is_ours = true;
        specific.matched = specific.matched || group_is_ours;
        global.matched = global.matched || group_is_global;
        break;
      }
      case Directive::kAllow:
      case Directive::kDisallow:
      case Directive::kCrawlDelay: {
        group_has_rules = true;
        for (GroupRules* group : {group_is_ours ? &specific : nullptr, group_is_global ? &global : nullptr}) {
          if (group == nullptr) continue;
          if (directive == Directive::kCrawlDelay) {
            // Several matching groups may each set a delay: the longest is the one that offends nobody.
            if (const auto delay = parse_delay(value))
              group->crawl_delay = std::max(group->crawl_delay.value_or(0), *delay);
          } else if (!value.empty()) {  // "Disallow:" with nothing after it allows everything
            group->rules.emplace_back(directive == Directive::kAllow, normalized_pattern(value));
          }
        }
        break;
      }
      case Directive::kSitemap:
        if (!value.empty() &&
            std::find(result.sitemaps_.begin(), result.sitemaps_.end(), value) == result.sitemaps_.end()) {
          result.sitemaps_.emplace_back(value);
        }
        break;
      case Directive::kOther:
        break;
    }
  }

  GroupRules& chosen = specific.matched ? specific : global;
  for (auto& [allow, pattern] : chosen.rules) result.rules_.push_back(Rule{allow, std::move(pattern)});
  result.crawl_delay_ = chosen.crawl_delay;
  return result;
}

RobotsRules RobotsRules::allow_all() { return RobotsRules(); }

RobotsRules RobotsRules::disallow_all() {
  RobotsRules rules;
  rules.disallow_all_ = true;
  return rules;
}

bool RobotsRules::allowed(std::string_view path) const {
  if (disallow_all_) return false;
  const std::string normalized = normalize_percent_encoding(path.empty() ? "/" : path);
  if (normalized == "/robots.txt") return true;  // RFC 9309 2.2.2: implicitly allowed
  std::optional<std::size_t> best_length;
  bool best_allows = true;  // no matching rule: allowed
  for (const auto& rule : rules_) {
    if (!pattern_matches(rule.pattern, normalized)) continue;
    const std::size_t length = rule.pattern.size();
    if (!best_length || length > *best_length) {
      best_length = length;
      best_allows = rule.allow;
    } else if (length == *best_length && rule.allow) {
      best_allows = true;  // Allow wins a tie
    }
  }
  return best_allows;
}

}  // namespace vnawire::fetch
