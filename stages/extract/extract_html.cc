// Extracts an article from an HTML page with libxml2's forgiving HTML parser.
//
// Two iterative passes over the DOM (no recursion, so a page nested 50,000 levels deep costs time,
// not stack): the first reads the metadata (og:title, article:published_time, JSON-LD, the sapo)
// and scores every <article> and every parent of <p> by the text of its paragraphs; the second
// reads the paragraphs and figure captions of the best-scoring element. Navigation, asides,
// footers, scripts, forms and "related" boxes never give paragraphs; figures give captions only.
// A site profile that matches the page first drops its `remove` nodes, then lays the fields its
// selectors find over that reading.
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>

#include <climits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_common.h"
#include "stages/extract/extract_dateline.h"
#include "stages/extract/extract_dom.h"
#include "stages/extract/extract_generic.h"
#include "stages/extract/extract_metadata.h"
#include "stages/extract/extract_profiles.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

using dom::attr;
using dom::is_element;
using dom::name_of;
using dom::text_of;
using dom::traverse;

// Elements whose paragraphs are never the article's.
bool excluded_element(const xmlNode* n) {
  static const std::unordered_set<std::string_view> kExcluded = {"script", "style",  "noscript", "template", "nav",
                                                                 "aside",  "footer", "form",     "iframe",   "svg",
                                                                 "button", "select", "textarea"};
  if (kExcluded.count(name_of(n)) != 0) return true;
  const std::string cls = util::to_lower(attr(n, "class") + " " + attr(n, "id"));
  for (const char* bad : {"related", "comment", "share", "social", "breadcrumb", "sidebar", "advert", "lien-quan"}) {
    if (cls.find(bad) != std::string::npos) return true;
  }
  return false;
}

bool related_container(const xmlNode* n) {
  const std::string cls = util::to_lower(attr(n, "class") + " " + attr(n, "id"));
  return cls.find("related") != std::string::npos || cls.find("lien-quan") != std::string::npos;
}

// A class word (split on spaces, '-' and '_') naming a standfirst: "article__sapo", "lead-text",
// but not "leaderboard".
bool lead_class(const xmlNode* n) {
  const std::string cls = util::to_lower(attr(n, "class"));
  std::size_t i = 0;
  while (i < cls.size()) {
    while (i < cls.size() && (cls[i] == ' ' || cls[i] == '-' || cls[i] == '_')) ++i;
    const std::size_t start = i;
    while (i < cls.size() && cls[i] != ' ' && cls[i] != '-' && cls[i] != '_') ++i;
    const std::string_view word = std::string_view(cls).substr(start, i - start);
    if (word == "sapo" || word == "lead" || word == "chapo" || word == "chapeau" || word == "standfirst") return true;
  }
  return false;
}

// "2023-09-13T10:00:00+07:00" -> "2023-09-13"; "2023-09" stays; anything else is dropped, and so are
// placeholder years before 1900 ("0001-01-01T00:00:00Z", which some CMSs write for "no date").
std::optional<std::string> edtf_from_timestamp(std::string_view s) {
  s = util::trim(s);
  if (s.size() >= 4 && s.substr(0, 4) < std::string_view("1900")) return std::nullopt;
  for (const std::size_t len : {std::size_t{10}, std::size_t{7}}) {
    if (s.size() >= len && is_edtf_date(s.substr(0, len)) && s.find('X') == std::string_view::npos) {
      return std::string(s.substr(0, len));
    }
  }
  return std::nullopt;
}

// Drops the site's name from a title: " - VietnamPlus" when og:site_name says so, and any short
// " | …" tail (" - " alone is too common inside headlines: "Vietnam - Laos").
std::string strip_site_suffix(std::string t, const std::optional<std::string>& site) {
  for (const std::string_view sep : {" | ", " - ", " – "}) {
    if (site && !site->empty() && util::ends_with(t, std::string(sep) + *site)) {
      return t.substr(0, t.size() - sep.size() - site->size());
    }
  }
  const std::size_t at = t.rfind(" | ");
  if (at != std::string::npos && at > 0 && util::length_chars(t.substr(at + 3)) <= 30) return t.substr(0, at);
  return t;
}

void read_json_ld(const std::string& text, std::optional<std::string>& headline, std::optional<std::string>& date) {
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return;
  // Objects may sit at the top, in an array, or in "@graph": look one level into each.
  std::vector<const nlohmann::json*> items = {&doc};
  if (doc.is_array()) {
    for (const auto& x : doc) items.push_back(&x);
  } else if (doc.is_object() && doc.contains("@graph") && doc["@graph"].is_array()) {
    for (const auto& x : doc["@graph"]) items.push_back(&x);
  }
  for (const nlohmann::json* item : items) {
    if (!item->is_object()) continue;
    if (!date && item->contains("datePublished") && (*item)["datePublished"].is_string()) {
      date = edtf_from_timestamp((*item)["datePublished"].get<std::string>());
    }
    if (!headline && item->contains("headline") && (*item)["headline"].is_string()) {
      headline = (*item)["headline"].get<std::string>();
    }
  }
}

// An href made absolute against the page's address.
std::string absolute_url(const std::string& href, const std::string& base) {
  xmlChar* abs = xmlBuildURI(reinterpret_cast<const xmlChar*>(href.c_str()),
                             base.empty() ? nullptr : reinterpret_cast<const xmlChar*>(base.c_str()));
  if (abs == nullptr) return href;
  std::string out(reinterpret_cast<const char*>(abs));
  xmlFree(abs);
  return out;
}

// One paragraph of the dispatch: a glued photo credit gives a caption, the first paragraph may open
// with the dateline, and the "-VNA" signature ends the text (`closed`).
void read_paragraph(std::string t, Article& a, bool& closed) {
  if (const auto credit = find_credit(t)) {
    if (!credit->caption.empty()) a.captions.push_back(credit->caption);
    t = credit->rest;
  }
  if (a.body.empty() && !a.dateline) {
    if (const auto d = match_dateline(t)) {
      if (d->place || d->date) a.dateline = Dateline{d->place, d->date};
      t = t.substr(d->text_start);
    }
  }
  if (auto sig = strip_signature(t)) t = std::move(*sig), closed = true;
  if (!t.empty() && !is_debris_line(t)) a.body.push_back(std::move(t));
}

// The built-in reading: VNA's layout when the page shows it, else the generic extractor's body.
Article read_builtin(xmlNode* root, const std::string& base) {
  Article a;
  std::optional<std::string> og_title, site_name, h1, title_tag, ld_headline, published, description, lead;
  xmlNode* lead_node = nullptr;
  std::vector<xmlNode*> related_boxes;
  std::unordered_map<xmlNode*, double> score;
  std::vector<xmlNode*> articles;  // open <article> elements, innermost last

  // Pass 1: metadata and scores.
  traverse(
      root,
      [&](xmlNode* n) {
        if (n->type != XML_ELEMENT_NODE) return false;
        const std::string_view nm = name_of(n);
        if (nm == "meta") {
          const std::string key = util::to_lower(!attr(n, "property").empty() ? attr(n, "property")
                                                 : !attr(n, "name").empty()   ? attr(n, "name")
                                                                              : attr(n, "itemprop"));
          const std::string content = attr(n, "content");
          if (key == "og:title" && !og_title) og_title = content;
          if (key == "og:site_name" && !site_name) site_name = content;
          if ((key == "article:published_time" || key == "datepublished" || key == "pubdate" ||
               key == "og:published_time") &&
              !published) {
            published = edtf_from_timestamp(content);
          }
          if ((key == "description" || key == "og:description") && !description) description = content;
          return false;
        }
        if (nm == "script") {
          if (util::to_lower(attr(n, "type")) == "application/ld+json")
            read_json_ld(dom::raw_text(n), ld_headline, published);
          return false;
        }
        if (nm == "title" && !title_tag) {
          title_tag = text_of(n);
          return false;
        }
        if (nm == "time" && !published && !articles.empty()) published = edtf_from_timestamp(attr(n, "datetime"));
        if (related_container(n)) {
          related_boxes.push_back(n);
          return false;
        }
        if (excluded_element(n)) return false;
        if (nm == "h1" && !h1) h1 = text_of(n);
        if (!lead && lead_class(n) && nm != "body" && nm != "article") {
          std::string t = text_of(n);
          if (util::length_chars(t) >= 20) lead = std::move(t), lead_node = n;
          if (lead) return false;
        }
        if (nm == "article") {
          articles.push_back(n);
        }
        if (nm == "p") {
          const double len = static_cast<double>(util::length_chars(text_of(n)));
          if (!articles.empty()) score[articles.back()] += len;
          if (n->parent != nullptr) {
            score[n->parent] += len;
            if (n->parent->parent != nullptr) score[n->parent->parent] += len / 2;
          }
          return false;
        }
        return true;
      },
      [&](xmlNode* n) {
        if (!articles.empty() && articles.back() == n) articles.pop_back();
      });

  // The content root: the <article> with the most paragraph text, else the best parent of <p>s.
  xmlNode* content = nullptr;
  double best = 0;
  for (const auto& [node, s] : score) {
    const bool art = is_element(node, "article");
    const double weighted = art ? s * 1.5 : s;  // an <article> holding the text is the surer sign
    if (weighted > best) best = weighted, content = node;
  }

  a.title = og_title && !og_title->empty() ? strip_site_suffix(*og_title, site_name)
            : h1 && !h1->empty()           ? *h1
            : ld_headline                  ? *ld_headline
            : title_tag                    ? strip_site_suffix(*title_tag, site_name)
                                           : std::optional<std::string>();
  a.published = published;
  a.lead = lead ? lead : description && util::length_chars(*description) >= 20 ? description : std::nullopt;

  // Pass 2: paragraphs and captions of the content root.
  bool closed = false;
  int figures = 0;
  if (content != nullptr) {
    traverse(
        content,
        [&](xmlNode* n) {
          if (n->type != XML_ELEMENT_NODE || n == lead_node) return false;
          const std::string_view nm = name_of(n);
          // <figcaption>, or the "caption" cell of the picture tables many CMSs still emit.
          if (nm == "figcaption" || util::to_lower(attr(n, "class")).find("caption") != std::string::npos) {
            std::string t = text_of(n);
            if (const auto credit = find_credit(t)) t = credit->caption;
            if (!t.empty()) a.captions.push_back(std::move(t));
            return false;
          }
          if (related_container(n) || excluded_element(n)) return false;
          if (nm == "figure") ++figures;
          if (nm != "p") return true;
          if (figures > 0 || closed) return false;
          read_paragraph(text_of(n), a, closed);
          return false;
        },
        [&](xmlNode* n) {
          if (is_element(n, "figure")) --figures;
        });
  }

  // VNA's layout shows itself by its sapo, its "(VNA)" dateline or its "-VNA" signature; any other
  // page gets the generic extractor's text, which knows no site but reads far more layouts. Its
  // result is kept only when it found something, so a short page still keeps its one paragraph.
  const bool vna_layout = lead_node != nullptr || a.dateline.has_value() || closed;
  if (!vna_layout) {
    if (std::vector<std::string> generic = extract_generic_text(root); !generic.empty()) a.body = std::move(generic);
  }

  // Related boxes: their links, resolved against the page's address.
  std::unordered_set<std::string> seen;
  for (xmlNode* box : related_boxes) {
    traverse(
        box,
        [&](xmlNode* n) {
          if (!is_element(n, "a")) return n->type == XML_ELEMENT_NODE;
          std::string t = text_of(n);
          if (util::length_chars(t) < 15 || t.find(' ') == std::string::npos || !seen.insert(t).second) return false;
          RelatedItem item{std::move(t), std::nullopt};
          if (const std::string href = attr(n, "href"); !href.empty()) item.url = absolute_url(href, base);
          a.related.push_back(std::move(item));
          return false;
        },
        [](xmlNode*) {});
  }

  return a;
}

// Drops what the profile's `remove` selectors name. Every node is unlinked before any is freed, so a
// node inside another removed one, or named twice, is freed once.
void drop_nodes(const SiteProfile& profile, xmlDoc* doc) {
  std::vector<xmlNode*> doomed;
  std::unordered_set<xmlNode*> seen;
  for (const XPath& selector : profile.remove) {
    for (xmlNode* n : selector.nodes(doc)) {
      const bool droppable = n->type == XML_ELEMENT_NODE || n->type == XML_TEXT_NODE || n->type == XML_COMMENT_NODE;
      if (droppable && n != xmlDocGetRootElement(doc) && seen.insert(n).second) doomed.push_back(n);
    }
  }
  for (xmlNode* n : doomed) xmlUnlinkNode(n);
  for (xmlNode* n : doomed) xmlFreeNode(n);
}

// The items a related selector names: a link gives its text and href; any other node gives its text
// and the href of the first link inside it.
std::vector<RelatedItem> read_related(const XPath& selector, xmlDoc* doc, const std::string& base) {
  std::vector<RelatedItem> out;
  std::unordered_set<std::string> seen;
  for (xmlNode* n : selector.nodes(doc)) {
    if (n->type != XML_ELEMENT_NODE) continue;
    std::string title = text_of(n);
    if (title.empty() || !seen.insert(title).second) continue;
    std::string href = attr(n, "href");
    if (href.empty()) {
      traverse(
          n,
          [&](xmlNode* c) {
            if (!href.empty() || c->type != XML_ELEMENT_NODE) return false;
            if (is_element(c, "a")) href = attr(c, "href");
            return href.empty();
          },
          [](xmlNode*) {});
    }
    out.push_back(RelatedItem{std::move(title), href.empty() ? std::nullopt : std::optional(absolute_url(href, base))});
  }
  return out;
}

// Lays the profile's fields over the built-in reading: a selector that finds something wins, one that
// is missing or finds nothing leaves the built-in value.
void apply_profile(const SiteProfile& profile, xmlDoc* doc, const std::string& base, Article& a) {
  if (auto titles = profile.title.strings(doc); !titles.empty()) a.title = std::move(titles.front());
  if (auto leads = profile.lead.strings(doc); !leads.empty()) a.lead = std::move(leads.front());
  for (const std::string& s : profile.published.strings(doc)) {
    if (auto date = edtf_from_timestamp(s)) {
      a.published = std::move(date);
      break;
    }
  }
  std::vector<std::string> captions;
  for (std::string t : profile.captions.strings(doc)) {
    if (const auto credit = find_credit(t)) t = credit->caption;
    if (!t.empty()) captions.push_back(std::move(t));
  }
  if (const auto paragraphs = profile.body.strings(doc); !paragraphs.empty()) {
    Article read;  // the profile's own paragraphs, with their dateline, credits and signature
    bool closed = false;
    for (const std::string& t : paragraphs) {
      if (closed) break;
      read_paragraph(t, read, closed);
    }
    a.body = std::move(read.body);
    a.dateline = std::move(read.dateline);
    // Captions glued to the profile's paragraphs stay, after the profile's own captions.
    if (!captions.empty()) captions.insert(captions.end(), read.captions.begin(), read.captions.end());
  }
  if (!captions.empty()) a.captions = std::move(captions);
  if (auto related = read_related(profile.related, doc, base); !related.empty()) a.related = std::move(related);
}

Article extract_html_impl(std::string_view html, std::string_view url, const SiteProfiles* profiles) {
  const std::string base(url);
  const dom::DocPtr doc = dom::parse_html(html, url);
  if (!doc) return {};
  const SiteProfile* profile = profiles != nullptr ? profiles->match(doc.get(), url) : nullptr;
  if (profile != nullptr) drop_nodes(*profile, doc.get());
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr) return {};

  Article a = read_builtin(root, base);
  if (profile != nullptr) apply_profile(*profile, doc.get(), base, a);
  if (PageMetadata meta = read_page_metadata(root); !meta.empty()) a.meta = std::move(meta);

  if (a.dateline && a.dateline->date) *a.dateline->date = infer_year(*a.dateline->date, a.published);
  finalize_article(a);
  return a;
}

}  // namespace

Article extract_html_page(std::string_view html, std::string_view url, const SiteProfiles* profiles) {
  try {
    return extract_html_impl(html, url, profiles);
  } catch (...) {
    return Article{};  // a bad page must never take the pipeline down
  }
}

}  // namespace vnawire::extract
