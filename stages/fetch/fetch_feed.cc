// Feeds, sitemaps, feed discovery and listing pages with libxml2 (dates: fetch_dates.cc).
#include "stages/fetch/fetch_feed.h"

#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "stages/fetch/fetch_inflate.h"
#include "stages/fetch/fetch_text.h"
#include "stages/fetch/fetch_url.h"

namespace vnawire::fetch {
namespace {

constexpr const char* kAtomNs = "http://www.w3.org/2005/Atom";
constexpr const char* kAtom03Ns = "http://purl.org/atom/ns#";
constexpr const char* kRdfNs = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
constexpr const char* kRss1Ns = "http://purl.org/rss/1.0/";
constexpr const char* kRss090Ns = "http://my.netscape.com/rdf/simple/0.9/";
constexpr const char* kDcNs = "http://purl.org/dc/elements/1.1/";
constexpr const char* kDcTermsNs = "http://purl.org/dc/terms/";
constexpr const char* kNewsNs = "http://www.google.com/schemas/sitemap-news/0.9";
// std::regex (libstdc++) compiles and matches by recursion, a few frames per group and per character matched: a
// pattern nested thousands of groups deep, or an href of a few hundred kilobytes matched against `.*`, overflows
// the stack and kills the stage instead of failing (found by tests/fuzz). Neither is a link filter or an article URL.
constexpr std::size_t kMaxLinkPatternBytes = 1024;
constexpr std::size_t kMaxLinkBytes = 4096;

const xmlChar* xml(const char* s) { return reinterpret_cast<const xmlChar*>(s); }
std::string_view view(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

// Takes libxml2's errors off stderr and keeps the first real one (the later ones are usually its echoes).
// libxml2's handlers are per thread, so this is safe under worker threads.
class ErrorCapture {
 public:
  ErrorCapture() : old_(xmlStructuredErrorContext), old_handler_(xmlStructuredError) {
    static std::once_flag init;
    std::call_once(init, [] { xmlInitParser(); });
    old_generic_ = xmlGenericError;
    old_generic_ctx_ = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(nullptr, silent);
    xmlSetStructuredErrorFunc(this, on_error);
  }
  ~ErrorCapture() {
    xmlSetStructuredErrorFunc(old_, old_handler_);
    xmlSetGenericErrorFunc(old_generic_ctx_, old_generic_);
  }
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;
  void reset() { failed = fatal = false; }

  bool failed = false;
  bool fatal = false;
  int line = 0;
  std::string message;
  int entity_line = 0;  // > 0 once the document declared an entity

 private:
  static void silent(void*, const char*, ...) {}
  static void on_error(void* self, xmlError* error) {
    auto* capture = static_cast<ErrorCapture*>(self);
    if (error == nullptr || error->level < XML_ERR_ERROR) return;
    // A namespace error does not stop the parse; the fatal error that does is the one to report.
    if (capture->failed && (capture->fatal || error->level != XML_ERR_FATAL)) return;
    capture->failed = true;
    capture->fatal = error->level == XML_ERR_FATAL;
    capture->line = error->line;
    capture->message = error->message == nullptr ? "unknown error" : error->message;
    while (!capture->message.empty() && std::isspace(static_cast<unsigned char>(capture->message.back()))) {
      capture->message.pop_back();
    }
  }
  void* old_;
  xmlStructuredErrorFunc old_handler_;
  xmlGenericErrorFunc old_generic_;
  void* old_generic_ctx_;
};

// Entity declarations are refused outright rather than bounded: feeds never need them, and refusing at the
// declaration means a billion-laughs document costs nothing.
void refuse_entity(void* ctx, const xmlChar*, int, const xmlChar*, const xmlChar*, xmlChar*) {
  auto* parser = static_cast<xmlParserCtxt*>(ctx);
  auto* capture = static_cast<ErrorCapture*>(parser->_private);
  if (capture->entity_line == 0) capture->entity_line = std::max(1, xmlSAX2GetLineNumber(ctx));
  xmlStopParser(parser);
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point == 0 || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) code_point = 0xFFFD;
  xmlChar bytes[8];
  const int length = xmlCopyCharMultiByte(bytes, static_cast<int>(code_point));
  out.append(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(std::max(length, 0)));
}

// Reads "&name;" or "&#n;" / "&#xh;" at `s` (which starts with '&'): the code point and the length, or nullopt.
std::optional<std::pair<std::uint32_t, std::size_t>> entity_at(std::string_view s) {
  const std::size_t semi = s.find(';', 1);
  if (semi == std::string_view::npos || semi < 2 || semi > 32) return std::nullopt;
  const std::string name(s.substr(1, semi - 1));
  if (name[0] == '#') {
    const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
    const std::string digits = name.substr(hex ? 2 : 1);
    if (digits.empty() || digits.size() > 8 ||
        digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos) {
      return std::nullopt;
    }
    return std::make_pair(static_cast<std::uint32_t>(std::stoul(digits, nullptr, hex ? 16 : 10)), semi + 1);
  }
  if (name == "apos") return std::make_pair(std::uint32_t{'\''}, semi + 1);  // XML's, missing from HTML 4
  const htmlEntityDesc* known = htmlEntityLookup(xml(name.c_str()));
  if (known == nullptr) return std::nullopt;
  return std::make_pair(static_cast<std::uint32_t>(known->value), semi + 1);
}

// Feeds written by hand use HTML entities (&nbsp; &eacute;) that XML does not know, which would make the whole
// feed unreadable: they are turned into numeric references before parsing.
std::string number_html_entities(std::string_view xml_text) {
  std::string out;
  out.reserve(xml_text.size());
  for (std::size_t i = 0; i < xml_text.size(); ++i) {
    if (xml_text[i] == '&' && i + 1 < xml_text.size() && xml_text[i + 1] != '#') {
      const auto rest = xml_text.substr(i);
      const bool predefined = rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;") ||
                              rest.starts_with("&quot;") || rest.starts_with("&apos;");
      if (auto entity = predefined ? std::nullopt : entity_at(rest)) {
        out += "&#" + std::to_string(entity->first) + ";";
        i += entity->second - 1;
        continue;
      }
    }
    out += xml_text[i];
  }
  return out;
}

// Titles arrive as plain text, CDATA holding HTML, or HTML escaped once more than needed: entities are decoded,
// then tags dropped and white space collapsed, so every form gives the same text.
std::string clean_text(std::string_view raw) {
  std::string decoded;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '&') {
      if (auto entity = entity_at(raw.substr(i))) {
        append_utf8(decoded, entity->first);
        i += entity->second - 1;
        continue;
      }
    }
    decoded += raw[i];
  }
  std::string out;
  bool space = false;
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    const bool tag_start =
        decoded[i] == '<' && i + 1 < decoded.size() &&
        (std::isalpha(static_cast<unsigned char>(decoded[i + 1])) || decoded[i + 1] == '/' || decoded[i + 1] == '!');
    const std::size_t tag_end = tag_start ? decoded.find_first_of("<>", i + 1) : std::string::npos;
    if (tag_end != std::string::npos && decoded[tag_end] == '>') {
      i = tag_end;
      space = true;
    } else if (is_space(decoded[i])) {
      space = true;
    } else if (decoded.compare(i, 2, "\xC2\xA0") == 0) {  // no-break space, as &nbsp; gives
      ++i;
      space = true;
    } else {
      if (space && !out.empty()) out += ' ';
      space = false;
      out += decoded[i];
    }
  }
  return out;
}

// --- XML access by namespace URI and local name, never by prefix ---

bool named(const xmlNode* node, const char* ns, std::string_view local) {
  if (node == nullptr || node->type != XML_ELEMENT_NODE || view(node->name) != local) return false;
  const std::string_view node_ns = node->ns == nullptr ? std::string_view() : view(node->ns->href);
  return ns == nullptr ? node_ns.empty() : node_ns == ns;
}

const xmlNode* child(const xmlNode* parent, const char* ns, std::string_view local) {
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next) {
    if (named(c, ns, local)) return c;
  }
  return nullptr;
}

std::string content(const xmlNode* node) {
  if (node == nullptr) return "";
  xmlChar* text = xmlNodeGetContent(node);
  std::string out(trim(view(text)));
  xmlFree(text);
  return out;
}

std::string child_text(const xmlNode* parent, const char* ns, std::string_view local) {
  return content(child(parent, ns, local));
}

std::string attribute(const xmlNode* node, const char* name, const char* ns = nullptr) {
  xmlChar* value = ns == nullptr ? xmlGetNoNsProp(node, xml(name)) : xmlGetNsProp(node, xml(name), xml(ns));
  std::string out(trim(view(value)));
  xmlFree(value);
  return out;
}

// An empty link is no link here: RFC 3986 (and resolve_url) would read it as the base, i.e. the feed or the page
// itself, which is never the article.
std::string resolve_link(std::string_view base, std::string_view link) {
  return trim(link).empty() ? "" : resolve_url(base, link);
}

// Resolves against the feed URL and any xml:base in scope (Atom uses it).
std::string resolve_at(xmlDoc* doc, const xmlNode* node, std::string_view link) {
  xmlChar* base = xmlNodeGetBase(doc, node);
  std::string out = resolve_link(view(base), link);
  xmlFree(base);
  return out;
}

const char* root_ns(const xmlNode* root) {
  return root->ns == nullptr || root->ns->href == nullptr ? nullptr : reinterpret_cast<const char*>(root->ns->href);
}

std::string first_date(const xmlNode* parent, std::initializer_list<std::pair<const char*, const char*>> names) {
  for (const auto& [ns, local] : names) {
    std::string date = normalise_date(child_text(parent, ns, local));
    if (!date.empty()) return date;
  }
  return "";
}

runtime::Result<DocPtr> parse_xml(std::string_view data, std::string_view url) {
  if (data.starts_with("\xEF\xBB\xBF")) data.remove_prefix(3);
  // White space before the XML declaration is common and fatal to libxml2: the declaration moves up to line 1
  // and the lines it stood below follow it, so that error line numbers stay those of the original.
  std::string moved;
  const std::size_t first = data.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return runtime::Status::error("empty document");
  const std::size_t declaration_end = data.find("?>", first);
  if (first > 0 && data.substr(first).starts_with("<?xml") && declaration_end != std::string_view::npos) {
    moved.append(data.substr(first, declaration_end + 2 - first));
    moved.append(static_cast<std::size_t>(std::count(data.begin(), data.begin() + first, '\n')), '\n');
    moved.append(data.substr(declaration_end + 2));
    data = moved;
  }
  const std::string text = number_html_entities(data);
  if (text.size() > static_cast<std::size_t>(INT_MAX)) return runtime::Status::error("document too large");
  ErrorCapture capture;
  std::unique_ptr<xmlParserCtxt, void (*)(xmlParserCtxt*)> parser(xmlNewParserCtxt(), xmlFreeParserCtxt);
  if (!parser) return runtime::Status::error("out of memory");
  parser->_private = &capture;
  parser->sax->entityDecl = refuse_entity;
  const std::string base(url);
  // No XML_PARSE_NOENT (no entity substitution) and no DTD loading; NONET keeps libxml2 off the network.
  const int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  DocPtr doc(xmlCtxtReadMemory(parser.get(), text.data(), static_cast<int>(text.size()),
                               base.empty() ? nullptr : base.c_str(), nullptr, options));
  if (capture.entity_line > 0) {
    return runtime::Status::error("entity declarations are not allowed (line " + std::to_string(capture.entity_line) +
                                  ")");
  }
  if (!doc || !parser->wellFormed) {
    const int line = (capture.failed ? capture.line : parser->input == nullptr ? 0 : parser->input->line);
    return runtime::Status::error("not well-formed XML at line " + std::to_string(line) + ": " +
                                  (capture.failed ? capture.message : "parse failed"));
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) return runtime::Status::error("empty document");
  return doc;
}

// Call with an ErrorCapture alive, to keep the parser's complaints off stderr.
DocPtr parse_html(std::string_view html, std::string_view url) {
  if (html.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
  const std::string base(url);
  // Callers hand over decode_to_utf8 output; on bytes that are not UTF-8 libxml2 falls back to Latin-1.
  const int options = HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_RECOVER;
  return DocPtr(htmlReadMemory(html.empty() ? " " : html.data(), html.empty() ? 1 : static_cast<int>(html.size()),
                               base.empty() ? nullptr : base.c_str(), "UTF-8", options));
}

template <typename Visit>
void each_element(xmlNode* node, const Visit& visit) {
  for (xmlNode* n = node; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    visit(n);
    each_element(n->children, visit);
  }
}

// An HTML page's links resolve against its <base href>, itself relative to the page URL.
std::string html_base(xmlDoc* doc, std::string_view page_url) {
  std::string base(page_url);
  each_element(xmlDocGetRootElement(doc), [&](xmlNode* n) {
    if (base != page_url || view(n->name) != "base") return;
    const std::string href = attribute(n, "href");
    const std::string resolved = href.empty() ? "" : resolve_link(page_url, href);
    if (!resolved.empty()) base = resolved;
  });
  return base;
}

bool has_token(std::string_view list, std::string_view token) {
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && is_space(list[i])) ++i;
    std::size_t end = i;
    while (end < list.size() && !is_space(list[end])) ++end;
    if (iequals(list.substr(i, end - i), token)) return true;
    i = end;
  }
  return false;
}

// --- feed formats ---

FeedEntry rss2_entry(xmlDoc* doc, const xmlNode* item, const char* ns) {
  FeedEntry entry;
  entry.title = clean_text(child_text(item, ns, "title"));
  const xmlNode* guid = child(item, ns, "guid");
  entry.guid = content(guid);
  entry.url = resolve_at(doc, item, child_text(item, ns, "link"));
  // A guid that is a permalink is the article URL when <link> is missing.
  if (entry.url.empty() && guid != nullptr && attribute(guid, "isPermaLink") != "false") {
    entry.url = resolve_at(doc, guid, entry.guid);
  }
  entry.published = first_date(item, {{ns, "pubDate"}, {kDcNs, "date"}, {kDcTermsNs, "issued"}});
  entry.updated = first_date(item, {{kAtomNs, "updated"}, {kDcTermsNs, "modified"}});
  return entry;
}

FeedEntry rss1_entry(xmlDoc* doc, const xmlNode* item, const char* ns) {
  FeedEntry entry;
  entry.title = clean_text(child_text(item, ns, "title"));
  entry.guid = attribute(item, "about", kRdfNs);
  entry.url = resolve_at(doc, item, child_text(item, ns, "link"));
  if (entry.url.empty()) entry.url = resolve_at(doc, item, entry.guid);
  entry.published = first_date(item, {{kDcTermsNs, "issued"}});
  entry.updated = first_date(item, {{kDcNs, "date"}, {kDcTermsNs, "modified"}});
  return entry;
}

// rel="alternate" (or no rel) is the article; other rels are a fallback, except those that never are.
std::string atom_link(xmlDoc* doc, const xmlNode* entry, const char* ns) {
  std::string fallback;
  for (const xmlNode* c = entry->children; c != nullptr; c = c->next) {
    if (!named(c, ns, "link")) continue;
    const std::string href = attribute(c, "href");
    const std::string rel = attribute(c, "rel");
    if (href.empty()) continue;
    if (rel.empty() || rel == "alternate" || rel == "http://www.iana.org/assignments/relation/alternate") {
      std::string url = resolve_at(doc, c, href);
      if (!url.empty()) return url;
    } else if (fallback.empty() && rel != "self" && rel != "edit" && rel != "edit-media" && rel != "enclosure") {
      fallback = resolve_at(doc, c, href);
    }
  }
  return fallback;
}

FeedEntry atom_entry(xmlDoc* doc, const xmlNode* item, const char* ns) {
  FeedEntry entry;
  entry.title = clean_text(child_text(item, ns, "title"));
  entry.guid = child_text(item, ns, "id");
  entry.url = atom_link(doc, item, ns);
  if (entry.url.empty()) entry.url = resolve_at(doc, item, entry.guid);
  entry.published = first_date(item, {{ns, "published"}, {ns, "issued"}});
  entry.updated = first_date(item, {{ns, "updated"}, {ns, "modified"}});
  return entry;
}

}  // namespace

runtime::Result<Feed> parse_feed(std::string_view xml_text, std::string_view feed_url) {
  auto parsed = parse_xml(xml_text, feed_url);
  if (!parsed) return runtime::Status::error(parsed.error());
  xmlDoc* doc = parsed->get();
  const xmlNode* root = xmlDocGetRootElement(doc);
  Feed feed;
  auto add = [&feed](FeedEntry entry) {
    if (entry.url.empty()) return;
    if (entry.guid.empty()) entry.guid = entry.url;  // the link is the item's identity when it has no other
    feed.entries.push_back(std::move(entry));
  };
  const char* ns = root_ns(root);
  if (named(root, ns, "rss")) {
    feed.format = "rss2";
    const xmlNode* channel = child(root, ns, "channel");
    if (channel == nullptr) return runtime::Status::error("not a feed: <rss> without <channel>");
    feed.title = clean_text(child_text(channel, ns, "title"));
    feed.language = clean_text(child_text(channel, ns, "language"));
    for (const xmlNode* c = channel->children; c != nullptr; c = c->next) {
      if (named(c, ns, "item")) add(rss2_entry(doc, c, ns));
    }
  } else if (named(root, kRdfNs, "RDF")) {
    feed.format = "rss1";
    const bool rss10 = child(root, kRss1Ns, "channel") != nullptr || child(root, kRss1Ns, "item") != nullptr;
    const char* rss_ns = rss10 ? kRss1Ns : kRss090Ns;
    if (const xmlNode* channel = child(root, rss_ns, "channel")) {
      feed.title = clean_text(child_text(channel, rss_ns, "title"));
      feed.language = clean_text(child_text(channel, kDcNs, "language"));
    }
    for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
      if (named(c, rss_ns, "item")) add(rss1_entry(doc, c, rss_ns));
    }
  } else if (named(root, kAtomNs, "feed") || named(root, kAtom03Ns, "feed")) {
    feed.format = "atom";
    feed.title = clean_text(child_text(root, ns, "title"));
    feed.language = attribute(root, "lang", "http://www.w3.org/XML/1998/namespace");
    for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
      if (named(c, ns, "entry")) add(atom_entry(doc, c, ns));
    }
  } else {
    return runtime::Status::error("not a feed: root element <" + std::string(view(root->name)) + ">");
  }
  return feed;
}

runtime::Result<Sitemap> parse_sitemap(std::string_view data, std::string_view sitemap_url, std::size_t max_bytes) {
  std::string inflated;
  if (data.starts_with("\x1f\x8b")) {
    auto unzipped = gunzip(data, max_bytes);
    if (!unzipped) return runtime::Status::error("sitemap: " + unzipped.error());
    inflated = std::move(*unzipped);
    data = inflated;
  } else if (data.size() > max_bytes) {
    return runtime::Status::error("sitemap larger than " + std::to_string(max_bytes) + " bytes");
  }
  auto parsed = parse_xml(data, sitemap_url);
  if (!parsed) return runtime::Status::error(parsed.error());
  xmlDoc* doc = parsed->get();
  const xmlNode* root = xmlDocGetRootElement(doc);
  const char* ns = root_ns(root);  // sitemaps.org 0.9, Google's older 0.84, or none: whatever the root uses
  Sitemap sitemap;
  sitemap.is_index = named(root, ns, "sitemapindex");
  if (!sitemap.is_index && !named(root, ns, "urlset")) {
    return runtime::Status::error("not a sitemap: root element <" + std::string(view(root->name)) + ">");
  }
  const char* entry_name = sitemap.is_index ? "sitemap" : "url";
  for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (!named(c, ns, entry_name)) continue;
    SitemapEntry entry;
    entry.url = resolve_at(doc, c, child_text(c, ns, "loc"));
    if (entry.url.empty()) continue;
    entry.lastmod = normalise_date(child_text(c, ns, "lastmod"));
    if (const xmlNode* news = child(c, kNewsNs, "news")) {
      entry.news_title = clean_text(child_text(news, kNewsNs, "title"));
      entry.news_published = normalise_date(child_text(news, kNewsNs, "publication_date"));
      if (const xmlNode* publication = child(news, kNewsNs, "publication")) {
        entry.news_language = clean_text(child_text(publication, kNewsNs, "language"));
      }
    }
    sitemap.entries.push_back(std::move(entry));
  }
  return sitemap;
}

std::vector<std::string> discover_feeds(std::string_view html, std::string_view page_url) {
  ErrorCapture quiet;
  const DocPtr doc = parse_html(html, page_url);
  std::vector<std::string> feeds;
  if (!doc) return feeds;
  const std::string base = html_base(doc.get(), page_url);
  each_element(xmlDocGetRootElement(doc.get()), [&](xmlNode* n) {
    if (view(n->name) != "link" || !has_token(attribute(n, "rel"), "alternate")) return;
    std::string type = attribute(n, "type");
    type = std::string(trim(type.substr(0, type.find(';'))));
    if (!iequals(type, "application/rss+xml") && !iequals(type, "application/atom+xml")) {
      return;
    }
    std::string url = resolve_link(base, attribute(n, "href"));
    if (!url.empty() && std::find(feeds.begin(), feeds.end(), url) == feeds.end()) feeds.push_back(std::move(url));
  });
  return feeds;
}

LinkPattern compile_link_pattern(std::string text) {
  LinkPattern pattern{std::move(text), std::nullopt, ""};
  if (pattern.text.size() > kMaxLinkPatternBytes) {
    pattern.error = "longer than " + std::to_string(kMaxLinkPatternBytes) + " bytes";
    return pattern;
  }
  try {
    if (!pattern.text.empty()) pattern.regex.emplace(pattern.text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    pattern.error = e.what();
  }
  return pattern;
}

runtime::Result<std::vector<std::string>> listing_links(std::string_view html, std::string_view page_url,
                                                        const LinkPattern& link_pattern, const std::string& xpath) {
  if (!link_pattern.error.empty()) {
    return runtime::Status::error("bad link regex '" + link_pattern.text + "': " + link_pattern.error);
  }
  const std::optional<std::regex>& pattern = link_pattern.regex;
  ErrorCapture capture;
  const DocPtr doc = parse_html(html, page_url);
  std::vector<std::string> links;
  if (!doc) return links;
  const std::string base = html_base(doc.get(), page_url);
  std::unordered_set<std::string> seen;
  std::string failure;
  auto take_link = [&](std::string_view href) {
    std::string url = resolve_link(base, href);
    url = url.substr(0, url.find('#'));
    if (url.empty() || url.size() > kMaxLinkBytes || seen.count(url) > 0) return;
    try {
      if (pattern && !std::regex_search(url, *pattern)) return;
    } catch (const std::regex_error& e) {  // too complex for std::regex on this input
      failure = e.what();
      return;
    }
    seen.insert(url);
    links.push_back(std::move(url));
  };
  auto take_anchors = [&](xmlNode* n) {
    if (view(n->name) == "a" && xmlHasProp(n, xml("href")) != nullptr) take_link(attribute(n, "href"));
  };
  if (xpath.empty()) {
    each_element(xmlDocGetRootElement(doc.get()), take_anchors);
  } else {
    capture.reset();  // what the HTML parser said is not about the XPath
    std::unique_ptr<xmlXPathContext, void (*)(xmlXPathContext*)> context(xmlXPathNewContext(doc.get()),
                                                                         xmlXPathFreeContext);
    std::unique_ptr<xmlXPathCompExpr, void (*)(xmlXPathCompExpr*)> compiled(xmlXPathCompile(xml(xpath.c_str())),
                                                                            xmlXPathFreeCompExpr);
    std::unique_ptr<xmlXPathObject, void (*)(xmlXPathObject*)> result(
        compiled && context ? xmlXPathCompiledEval(compiled.get(), context.get()) : nullptr, xmlXPathFreeObject);
    if (!result) {
      return runtime::Status::error("bad XPath '" + xpath + "': " + (capture.failed ? capture.message : "invalid"));
    }
    if (result->type != XPATH_NODESET) {
      return runtime::Status::error("XPath '" + xpath + "' selects a value, not nodes");
    }
    const xmlNodeSet* nodes = result->nodesetval;
    for (int i = 0; nodes != nullptr && i < nodes->nodeNr; ++i) {
      xmlNode* node = nodes->nodeTab[i];
      if (node->type == XML_ATTRIBUTE_NODE) {
        take_link(content(node));
      } else if (node->type == XML_ELEMENT_NODE) {
        take_anchors(node);
        each_element(node->children, take_anchors);
      }
    }
  }
  if (!failure.empty()) return runtime::Status::error("link regex '" + link_pattern.text + "' failed: " + failure);
  return links;
}

}  // namespace vnawire::fetch
