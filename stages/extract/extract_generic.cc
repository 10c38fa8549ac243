// The generic main-text extractor, in the manner of readability: paragraphs score their parents by
// length and commas, scores are cut by link density and by class/id words (nav, comment, share…),
// the best container and its like siblings give the text. Two iterative walks, never recursion, so
// a page nested 100,000 levels deep costs time and not stack.
#include "stages/extract/extract_generic.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stages/extract/extract_dom.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

using dom::attr;
using dom::class_and_id;
using dom::name_of;
using dom::traverse;

struct NodeStats {
  double text = 0;         // non-space characters of text below
  double link = 0;         // of which inside <a>
  double commas = 0;       // clause separators: long sentences mark prose, not menus
  double score = 0;        // paragraph scores given by descendants
  double inline_text = 0;  // of which outside any child block: a paragraph without <p>
  double inline_commas = 0;
  bool scored = false;  // is a candidate (some paragraph gave it a score)
};

// Characters that are not white space, counted per code point.
double visible_chars(std::string_view s) {
  double n = 0;
  for (const unsigned char c : s) {
    if ((c & 0xC0) == 0x80 || c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    ++n;
  }
  return n;
}

double count_commas(std::string_view s) {
  double n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',') ++n;
    // "，" and "、": the comma of Chinese and Japanese text.
    if (s.compare(i, 3, "\xEF\xBC\x8C") == 0 || s.compare(i, 3, "\xE3\x80\x81") == 0) ++n;
  }
  return n;
}

// Never part of the text, whatever they hold.
bool never_text(std::string_view nm) {
  static const std::unordered_set<std::string_view> kTags = {
      "script", "style",  "noscript", "template", "nav",    "aside",  "footer", "iframe", "svg",
      "button", "select", "textarea", "input",    "head",   "object", "embed",  "canvas", "video",
      "audio",  "map",    "menu",     "dialog",   "figure", "label",  "option", "link"};
  return kTags.count(nm) != 0;
}

bool is_block(std::string_view nm) {
  static const std::unordered_set<std::string_view> kBlock = {
      "p",     "div", "li",     "ul", "ol", "td",   "th",      "tr",      "h1",         "h2",
      "h3",    "h4",  "h5",     "h6", "dd", "dt",   "dl",      "section", "article",    "blockquote",
      "table", "pre", "header", "br", "hr", "main", "address", "center",  "figcaption", "tbody"};
  return kBlock.count(nm) != 0;
}

bool contains_any(std::string_view s, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return s.find(w) != std::string_view::npos; });
}

// Class and id words of page furniture, unless the same words also say "article" or "content"
// (readability's unlikely/maybe candidates, plus the share and newsletter boxes of today's CMSs).
bool boilerplate(const xmlNode* n) {
  const std::string_view nm = name_of(n);
  if (nm == "body" || nm == "html" || nm == "article" || nm == "main" || nm == "a") return false;
  const std::string cls = class_and_id(n);
  if (cls.size() <= 1) return false;
  if (!contains_any(cls, {"-ad-",      "credit",       "copyright", "banner",   "breadcrumb", "combx",      "comment",
                          "community", "disqus",       "footer",    "gdpr",     "header",     "menu",       "related",
                          "remark",    "replies",      "rss",       "shoutbox", "sidebar",    "skyscraper", "social",
                          "sponsor",   "supplemental", "ad-break",  "agegate",  "pagination", "popup",      "share",
                          "sharing",   "newsletter",   "subscri",   "cookie",   "promo",      "outbrain",   "taboola",
                          "byline",    "caption",      "modal",     "signup",   "recommend",  "toolbar",    "tags"})) {
    return false;
  }
  return !contains_any(cls, {"article", "body", "column", "content", "main", "shadow", "story", "entry"});
}

bool hidden(const xmlNode* n) {
  if (xmlHasProp(n, reinterpret_cast<const xmlChar*>("hidden")) != nullptr) return true;
  if (attr(n, "aria-hidden") == "true") return true;
  std::string style = util::to_lower(attr(n, "style"));
  style.erase(std::remove(style.begin(), style.end(), ' '), style.end());
  return style.find("display:none") != std::string::npos || style.find("visibility:hidden") != std::string::npos;
}

// Skipped by both walks: the subtree gives no text and no score.
// `strip_unlikely` off is the second try, for pages whose article wrapper has an unlucky class
// ("Page-ad-margins" around the whole page).
bool skipped(const xmlNode* n, bool strip_unlikely) {
  return never_text(name_of(n)) || hidden(n) || (strip_unlikely && boilerplate(n));
}

double class_weight(const xmlNode* n) {
  const std::string cls = class_and_id(n);
  if (cls.size() <= 1) return 0;
  double w = 0;
  if (contains_any(
          cls, {"-ad-",     "hidden",     "banner",  "combx",    "comment", "com-",    "contact", "foot",  "gdpr",
                "masthead", "media",      "meta",    "outbrain", "promo",   "related", "scroll",  "share", "shoutbox",
                "sidebar",  "skyscraper", "sponsor", "shopping", "tags",    "tool",    "widget"})) {
    w -= 25;
  }
  if (contains_any(cls, {"article", "body", "content", "entry", "hentry", "h-entry", "main", "page", "post", "text",
                         "blog", "story"})) {
    w += 25;
  }
  return w;
}

double tag_weight(std::string_view nm) {
  if (nm == "div" || nm == "article") return 5;
  if (nm == "pre" || nm == "td" || nm == "blockquote") return 3;
  if (nm == "address" || nm == "form" || nm == "ol" || nm == "ul" || nm == "dl" || nm == "dd" || nm == "dt" ||
      nm == "li")
    return -3;
  if (nm == "th" || (nm.size() == 2 && nm[0] == 'h' && nm[1] >= '1' && nm[1] <= '6')) return -5;
  return 0;
}

double link_density(const NodeStats& s) { return s.text > 0 ? s.link / s.text : 0; }

using StatsMap = std::unordered_map<const xmlNode*, NodeStats>;

// Pass 1: text, link text and commas of every element, bottom-up; paragraph scores to ancestors.
StatsMap measure(xmlNode* root, bool strip_unlikely) {
  StatsMap stats;
  traverse(
      root,
      [&](xmlNode* n) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
          if (n->content != nullptr && n->parent != nullptr) {
            const std::string_view t(reinterpret_cast<const char*>(n->content));
            NodeStats& p = stats[n->parent];
            const double len = visible_chars(t), commas = count_commas(t);
            p.text += len, p.inline_text += len;
            p.commas += commas, p.inline_commas += commas;
          }
          return false;
        }
        if (n->type != XML_ELEMENT_NODE || skipped(n, strip_unlikely)) return false;
        stats[n];
        return true;
      },
      [&](xmlNode* n) {
        if (n->type != XML_ELEMENT_NODE) return;
        NodeStats& s = stats[n];
        const std::string_view nm = name_of(n);
        if (nm == "a") s.link = s.text;
        // A paragraph: <p>, <pre>, <td>, or the loose text of a <div> (text between <br>s, or
        // beside an empty spacer div), which readability wraps in a <p> first.
        const bool whole = nm == "p" || nm == "pre" || nm == "td";
        const bool loose = nm == "div" || nm == "section" || nm == "article" || nm == "blockquote" || nm == "center";
        const double length = whole ? s.text : loose ? s.inline_text : 0;
        if (length >= 25) {
          const double commas = whole ? s.commas : s.inline_commas;
          const double points = 1 + commas + std::min(length / 100.0, 3.0);
          int level = 0;
          for (xmlNode* up = n->parent; up != nullptr && up->type == XML_ELEMENT_NODE && level < 5;
               up = up->parent, ++level) {
            NodeStats& a = stats[up];
            if (!a.scored) a.scored = true, a.score += tag_weight(name_of(up)) + class_weight(up);
            a.score += level == 0 ? points : level == 1 ? points / 2 : points / (level * 3);
          }
        }
        if (n->parent != nullptr) {
          NodeStats& p = stats[n->parent];
          p.text += s.text;
          p.link += s.link;
          p.commas += s.commas;
          if (!is_block(nm)) p.inline_text += s.text, p.inline_commas += s.commas;
        }
      });
  return stats;
}

// Pass 2: the text blocks below `root`, dropping furniture and link lists on the way.
void collect_blocks(xmlNode* root, const StatsMap& stats, bool strip_unlikely, std::vector<std::string>& out) {
  std::string current;
  double current_text = 0, current_link = 0;
  int in_link = 0;
  const auto flush = [&] {
    std::string t = util::fold_spaces(current);
    // A block that is mostly links is a menu or a "read more" line, not prose.
    if (!t.empty() && !(current_text > 0 && current_link / current_text > 0.5)) out.push_back(std::move(t));
    current.clear();
    current_text = current_link = 0;
  };
  traverse(
      root,
      [&](xmlNode* n) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
          if (n->content == nullptr) return false;
          const std::string_view t(reinterpret_cast<const char*>(n->content));
          current += t;
          const double len = visible_chars(t);
          current_text += len;
          if (in_link > 0) current_link += len;
          return false;
        }
        if (n->type != XML_ELEMENT_NODE || skipped(n, strip_unlikely)) return false;
        const std::string_view nm = name_of(n);
        if (nm == "h1") return false;  // the headline is the title, not the body
        // A form inside the text is a sign-up or search box; one around the whole page (ASP.NET
        // sites) is above the parts and never reached here, so pass 1 must not skip forms.
        if (nm == "form" && n != root) return false;
        if (is_block(nm)) {
          const auto it = stats.find(n);
          if (it != stats.end() && nm != "p" && n != root) {
            const NodeStats& s = it->second;
            const bool list = nm == "ul" || nm == "ol" || nm == "table" || nm == "dl";
            const double limit = class_weight(n) >= 25 ? 0.5 : list ? 0.3 : 0.33;
            if (s.text > 0 && s.commas < 10 && link_density(s) > limit) return false;
          }
          flush();
        }
        if (nm == "a") ++in_link;
        return true;
      },
      [&](xmlNode* n) {
        if (n->type != XML_ELEMENT_NODE) return;
        if (name_of(n) == "a") --in_link;
        if (is_block(name_of(n))) flush();
      });
  flush();
}

std::vector<std::string> extract_with(xmlNode* root, bool strip_unlikely) {
  std::vector<std::string> out;
  if (root == nullptr) return out;
  const StatsMap stats = measure(root, strip_unlikely);

  const auto final_score = [&](const xmlNode* n) {
    const auto it = stats.find(n);
    return it != stats.end() && it->second.scored ? it->second.score * (1 - link_density(it->second)) : 0.0;
  };
  std::vector<std::pair<double, const xmlNode*>> ranked;
  for (const auto& [node, s] : stats) {
    if (s.scored) ranked.emplace_back(s.score * (1 - link_density(s)), node);
  }
  if (ranked.empty()) return out;
  const std::size_t shown = std::min<std::size_t>(5, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(shown), ranked.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  const xmlNode* top = ranked.front().second;
  if (ranked.front().first <= 0) return out;

  // Readability's two corrections: when three strong runners-up sit under one ancestor of the best,
  // the article is that ancestor (its text is split in boxes); and a parent scoring higher than
  // the best, with no big drop on the way up, holds more of the article.
  std::vector<std::unordered_set<const xmlNode*>> runner_up_ancestors;
  for (std::size_t i = 1; i < shown; ++i) {
    if (ranked[i].first < 0.75 * ranked.front().first) continue;
    std::unordered_set<const xmlNode*>& ancestors = runner_up_ancestors.emplace_back();
    for (const xmlNode* up = ranked[i].second->parent; up != nullptr; up = up->parent) ancestors.insert(up);
  }
  if (runner_up_ancestors.size() >= 3) {
    for (const xmlNode* up = top->parent; up != nullptr && up->type == XML_ELEMENT_NODE && name_of(up) != "body";
         up = up->parent) {
      const auto holding = std::count_if(runner_up_ancestors.begin(), runner_up_ancestors.end(),
                                         [&](const auto& set) { return set.count(up) != 0; });
      if (holding >= 3) {
        top = up;
        break;
      }
    }
  }
  double last = final_score(top);
  const double floor = last / 3;
  for (const xmlNode* up = top->parent; up != nullptr && up->type == XML_ELEMENT_NODE && name_of(up) != "body";
       up = up->parent) {
    const auto it = stats.find(up);
    if (it == stats.end() || !it->second.scored) continue;
    const double score = final_score(up);
    if (score < floor) break;
    if (score > last) {
      top = up;
      break;
    }
    last = score;
  }
  const double best = std::max(final_score(top), ranked.front().first);

  // Siblings that look like more of the same article (text split across wrappers, ads between);
  // 0.3 of the best rather than readability's 0.2: on the benchmark it drops more boxes than text.
  const double threshold = std::max(10.0, best * 0.3);
  const std::string top_class = attr(top, "class");
  std::vector<xmlNode*> parts;
  if (top->parent == nullptr) return out;
  for (xmlNode* sib = top->parent->children; sib != nullptr; sib = sib->next) {
    if (sib->type != XML_ELEMENT_NODE) continue;
    if (sib == top) {
      parts.push_back(sib);
      continue;
    }
    const auto it = stats.find(sib);
    if (it == stats.end()) continue;
    const NodeStats& s = it->second;
    const double bonus = !top_class.empty() && attr(sib, "class") == top_class ? best * 0.2 : 0;
    const double sib_score = s.scored ? s.score * (1 - link_density(s)) : 0;
    bool append = sib_score + bonus >= threshold;
    if (!append && name_of(sib) == "p") {
      const double ld = link_density(s);
      append = (s.text > 80 && ld < 0.25) || (s.text > 40 && ld == 0);
    }
    if (append) parts.push_back(sib);
  }
  for (xmlNode* part : parts) collect_blocks(part, stats, strip_unlikely, out);
  return out;
}

}  // namespace

std::vector<std::string> extract_generic_text(xmlNode* root) {
  // Like readability: when the strict pass finds less than a short article, class words were
  // probably too eager, so try again without them and keep the longer text.
  std::vector<std::string> strict = extract_with(root, true);
  std::size_t chars = 0;
  for (const std::string& b : strict) chars += b.size();
  if (chars >= 250) return strict;
  std::vector<std::string> relaxed = extract_with(root, false);
  std::size_t relaxed_chars = 0;
  for (const std::string& b : relaxed) relaxed_chars += b.size();
  return relaxed_chars > chars ? relaxed : strict;
}

std::vector<std::string> extract_generic_text(std::string_view html) {
  try {
    const dom::DocPtr doc = dom::parse_html(html, {});
    if (!doc) return {};
    return extract_generic_text(xmlDocGetRootElement(doc.get()));
  } catch (...) {
    return {};  // a bad page must never take the pipeline down
  }
}

}  // namespace vnawire::extract
