// Reads a page's metadata from JSON-LD, Open Graph, plain <meta>, <link>, <time> and bylines.
//
// Each source fills its own PageMetadata; the merge then takes every field from the most trusted
// source that has it. JSON-LD comes first because publishers generate it from the article record
// itself, Open Graph next because it is written for sharing and usually kept right, plain <meta>
// after that (often a site-wide default), and the visible <time> and byline last (layout, not data).
#include "stages/extract/extract_metadata.h"

#include <array>
#include <nlohmann/json.hpp>
#include <string_view>

#include "stages/extract/extract_dom.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

using dom::attr;
using dom::name_of;
using Json = nlohmann::json;

// A byline longer than this is an author box with a biography, not a name.
constexpr std::size_t kMaxBylineChars = 80;

std::optional<std::string> clean(std::string_view s) {
  std::string t = util::fold_spaces(util::sanitize_utf8(s));
  if (t.empty()) return std::nullopt;
  return t;
}

void set_once(std::optional<std::string>& field, std::string_view value) {
  if (!field) field = clean(value);
}

void add_unique(std::vector<std::string>& list, std::string_view value) {
  const std::optional<std::string> t = clean(value);
  if (!t) return;
  for (const std::string& have : list) {
    if (have == *t) return;
  }
  list.push_back(*t);
}

// Dates are kept as given (zone included), but only when they look like ISO 8601: a "13/09/2023"
// in a <meta> is ambiguous and better left out than passed on as if it were a timestamp.
bool looks_iso_date(std::string_view s) {
  s = util::trim(s);
  if (s.size() < 7 || s[4] != '-') return false;
  for (const std::size_t i : {0, 1, 2, 3, 5, 6}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  // CMS defaults such as "0001-01-01T00:00:00Z" stand for "no date"; no news page predates 1900.
  return s.substr(0, 4) >= "1900";
}

void set_date_once(std::optional<std::string>& field, std::string_view value) {
  if (looks_iso_date(value)) set_once(field, value);
}

// ---- JSON-LD ---------------------------------------------------------------------------------

bool is_article_type(const Json& type) {
  const auto named = [](const Json& t) {
    if (!t.is_string()) return false;
    const std::string& s = t.get_ref<const std::string&>();
    return s == "NewsArticle" || s == "Article" || s == "ReportageNewsArticle";
  };
  if (type.is_array()) {
    for (const Json& t : type) {
      if (named(t)) return true;
    }
    return false;
  }
  return named(type);
}

// A string, or an object's first string member among `keys` ({"name": …}, {"url": …}, {"@id": …}).
std::optional<std::string> string_or_member(const Json& v, std::initializer_list<const char*> keys) {
  if (v.is_string()) return clean(v.get_ref<const std::string&>());
  if (!v.is_object()) return std::nullopt;
  for (const char* key : keys) {
    const auto it = v.find(key);
    if (it != v.end() && it->is_string()) return clean(it->get_ref<const std::string&>());
  }
  return std::nullopt;
}

// Calls `take` on `v`, or on each element when `v` is an array (authors, images, sections).
template <class Take>
void each_value(const Json& v, Take&& take) {
  if (v.is_array()) {
    for (const Json& x : v) take(x);
  } else {
    take(v);
  }
}

const Json* member(const Json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && !it->is_null() ? &*it : nullptr;
}

void read_ld_article(const Json& item, PageMetadata& out) {
  const auto str = [&](const char* key) -> std::optional<std::string> {
    const Json* v = member(item, key);
    return v != nullptr ? string_or_member(*v, {}) : std::nullopt;
  };
  if (!out.title) out.title = str("headline");
  if (!out.description) out.description = str("description");
  if (const auto d = str("datePublished"); d && !out.published) set_date_once(out.published, *d);
  if (const auto d = str("dateModified"); d && !out.updated) set_date_once(out.updated, *d);
  if (!out.locale) out.locale = str("inLanguage");
  if (const Json* authors = member(item, "author")) {
    each_value(*authors, [&](const Json& a) {
      if (const auto name = string_or_member(a, {"name"})) add_unique(out.authors, *name);
    });
  }
  if (const Json* section = member(item, "articleSection"); section != nullptr && !out.section) {
    each_value(*section, [&](const Json& s) {
      if (!out.section) out.section = string_or_member(s, {});
    });
  }
  if (const Json* keywords = member(item, "keywords")) {
    // "a, b, c" in one string is as common as a proper array.
    each_value(*keywords, [&](const Json& k) {
      if (!k.is_string()) return;
      const std::string& s = k.get_ref<const std::string&>();
      std::size_t start = 0;
      while (start <= s.size()) {
        const std::size_t comma = std::min(s.find(',', start), s.size());
        add_unique(out.tags, std::string_view(s).substr(start, comma - start));
        start = comma + 1;
      }
    });
  }
  if (const Json* image = member(item, "image"); image != nullptr && !out.image) {
    each_value(*image, [&](const Json& i) {
      if (!out.image) out.image = string_or_member(i, {"url", "@id"});
    });
  }
  if (!out.canonical_url) {
    if (const Json* page = member(item, "mainEntityOfPage"))
      out.canonical_url = string_or_member(*page, {"@id", "url"});
  }
  if (!out.canonical_url) out.canonical_url = str("url");
}

void read_json_ld(std::string_view text, PageMetadata& out) {
  const Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded()) return;  // broken JSON-LD is common; the other sources still count
  // Articles sit at the top, in a top-level array, or in "@graph" (of either).
  std::vector<const Json*> items;
  each_value(doc, [&](const Json& x) {
    if (!x.is_object()) return;
    items.push_back(&x);
    if (const Json* graph = member(x, "@graph"); graph != nullptr && graph->is_array()) {
      for (const Json& g : *graph) items.push_back(&g);
    }
  });
  for (const Json* item : items) {
    if (item->is_object() && item->contains("@type") && is_article_type((*item)["@type"])) read_ld_article(*item, out);
  }
}

// ---- <meta>, <link>, <time>, bylines -----------------------------------------------------------

struct Sources {
  PageMetadata json_ld, open_graph, plain, layout;
};

void read_meta(const xmlNode* n, Sources& s) {
  std::string key = attr(n, "property");
  if (key.empty()) key = attr(n, "name");
  key = util::to_lower(key);
  const std::string content = attr(n, "content");
  PageMetadata& og = s.open_graph;
  if (key == "og:title") set_once(og.title, content);
  if (key == "og:description") set_once(og.description, content);
  if (key == "og:image" || key == "og:image:url") set_once(og.image, content);
  if (key == "og:locale") set_once(og.locale, content);
  if (key == "og:url") set_once(og.canonical_url, content);
  if (key == "article:published_time") set_date_once(og.published, content);
  if (key == "article:modified_time") set_date_once(og.updated, content);
  if (key == "article:section") set_once(og.section, content);
  if (key == "article:tag") add_unique(og.tags, content);
  if (key == "author") add_unique(s.plain.authors, content);
  if (key == "description") set_once(s.plain.description, content);
}

bool has_word(std::string_view list, std::string_view word) {
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && list[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < list.size() && list[i] != ' ') ++i;
    if (list.substr(start, i - start) == word) return true;
  }
  return false;
}

// "By Nguyen Van A" / "Par …" / "Bởi …": the name without the word that introduces it.
std::string strip_by(std::string t) {
  for (const std::string_view by : {"by ", "par ", "bởi "}) {
    if (t.size() > by.size() && util::to_lower(t.substr(0, by.size())) == by) return t.substr(by.size());
  }
  return t;
}

void read_byline(xmlNode* n, PageMetadata& layout) {
  xmlChar* content = xmlNodeGetContent(n);
  if (content == nullptr) return;
  const std::string text = strip_by(util::fold_spaces(reinterpret_cast<const char*>(content)));
  xmlFree(content);
  if (util::length_chars(text) <= kMaxBylineChars) add_unique(layout.authors, text);
}

bool is_byline(const xmlNode* n) {
  if (has_word(util::to_lower(attr(n, "rel")), "author")) return true;
  const std::string cls = util::to_lower(attr(n, "class"));
  return has_word(cls, "byline") || has_word(cls, "author") || has_word(cls, "author-name");
}

template <class Field>
void merge_field(Field& into, const Field& from) {
  if (into.empty() && !from.empty()) into = from;
}

void merge_field(std::optional<std::string>& into, const std::optional<std::string>& from) {
  if (!into && from) into = from;
}

PageMetadata merge(const Sources& s) {
  PageMetadata out;
  for (const PageMetadata* m : std::array{&s.json_ld, &s.open_graph, &s.plain, &s.layout}) {
    merge_field(out.title, m->title);
    merge_field(out.description, m->description);
    merge_field(out.published, m->published);
    merge_field(out.updated, m->updated);
    merge_field(out.authors, m->authors);
    merge_field(out.section, m->section);
    merge_field(out.tags, m->tags);
    merge_field(out.canonical_url, m->canonical_url);
    merge_field(out.image, m->image);
    merge_field(out.locale, m->locale);
  }
  return out;
}

}  // namespace

bool PageMetadata::empty() const {
  return !title && !description && !published && !updated && authors.empty() && !section && tags.empty() &&
         !canonical_url && !image && !locale;
}

PageMetadata read_page_metadata(xmlNode* root) {
  Sources s;
  if (root == nullptr) return {};
  dom::traverse(
      root,
      [&](xmlNode* n) {
        if (n->type != XML_ELEMENT_NODE) return false;
        const std::string_view nm = name_of(n);
        if (nm == "meta") {
          read_meta(n, s);
          return false;
        }
        if (nm == "script") {
          if (util::to_lower(attr(n, "type")) == "application/ld+json") read_json_ld(dom::raw_text(n), s.json_ld);
          return false;
        }
        if (nm == "style" || nm == "noscript" || nm == "template") return false;
        // Readers' comments carry their own bylines ("Ben commented on") and dates.
        if (dom::class_and_id(n).find("comment") != std::string::npos) return false;
        if (nm == "link") {
          const std::string rel = util::to_lower(attr(n, "rel"));
          if (has_word(rel, "canonical")) set_once(s.plain.canonical_url, attr(n, "href"));
          return false;
        }
        if (nm == "time") {
          const std::string when = attr(n, "datetime");
          if (util::to_lower(attr(n, "itemprop")) == "datemodified") {
            set_date_once(s.layout.updated, when);
          } else {
            set_date_once(s.layout.published, when);
          }
        }
        if (is_byline(n)) {
          read_byline(n, s.layout);
          return false;
        }
        return true;
      },
      [](xmlNode*) {});
  return merge(s);
}

Json metadata_to_json(const PageMetadata& meta) {
  Json out = Json::object();
  const auto put = [&](const char* key, const std::optional<std::string>& v) {
    if (v) out[key] = *v;
  };
  put("title", meta.title);
  put("description", meta.description);
  put("published", meta.published);
  put("updated", meta.updated);
  if (!meta.authors.empty()) out["authors"] = meta.authors;
  put("section", meta.section);
  if (!meta.tags.empty()) out["tags"] = meta.tags;
  put("canonical_url", meta.canonical_url);
  put("image", meta.image);
  put("locale", meta.locale);
  return out;
}

}  // namespace vnawire::extract
