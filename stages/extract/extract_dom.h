// libxml2 DOM helpers shared by the HTML extractors: a quiet forgiving parse and an iterative walk.
#pragma once

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "stages/extract/extract_text_util.h"

namespace vnawire::extract::dom {

inline std::string_view name_of(const xmlNode* n) {
  return n->name != nullptr ? std::string_view(reinterpret_cast<const char*>(n->name)) : std::string_view();
}

inline bool is_element(const xmlNode* n, std::string_view name) {
  return n->type == XML_ELEMENT_NODE && name_of(n) == name;
}

// What xmlGetProp answers, without its copy and free for the usual attribute (one text node) and
// without a call for a missing one: the extractors ask several attributes of every element.
inline std::string attr(const xmlNode* n, const char* name) {
  if (n->type != XML_ELEMENT_NODE) return {};
  const xmlAttr* a = n->properties;
  while (a != nullptr && (a->name == nullptr || std::strcmp(reinterpret_cast<const char*>(a->name), name) != 0)) {
    a = a->next;
  }
  const xmlNode* value = a != nullptr ? a->children : nullptr;
  if (a != nullptr && value == nullptr) return {};
  if (value != nullptr && value->next == nullptr &&
      (value->type == XML_TEXT_NODE || value->type == XML_CDATA_SECTION_NODE)) {
    return value->content != nullptr ? std::string(reinterpret_cast<const char*>(value->content)) : std::string();
  }
  // Absent, and no DTD declares a default for it (the HTML parser never reads attribute declarations).
  if (a == nullptr && (n->doc == nullptr || n->doc->intSubset == nullptr || n->doc->intSubset->attributes == nullptr)) {
    return {};
  }
  xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

// The class and id attributes in lower case, one string: page furniture is named in either ("comments",
// id="sidebar"), and every extractor that skips it by name reads both.
inline std::string class_and_id(const xmlNode* n) { return util::to_lower(attr(n, "class") + " " + attr(n, "id")); }

// The raw content of an element whose text is not markup (<script type="application/ld+json">).
inline std::string raw_text(const xmlNode* n) {
  std::string out;
  for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != nullptr) {
      out += reinterpret_cast<const char*>(c->content);
    }
  }
  return out;
}

// Visits the subtree of `root` in document order without recursion. `enter` returns whether to go
// into the node's children; `leave` runs after the children of every node that was entered so.
template <class Enter, class Leave>
void traverse(xmlNode* root, Enter&& enter, Leave&& leave) {
  xmlNode* node = root;
  while (node != nullptr) {
    const bool descend = enter(node);
    if (descend && node->children != nullptr) {
      node = node->children;
      continue;
    }
    if (descend) leave(node);
    while (node != root && node->next == nullptr) {
      node = node->parent;
      if (node == nullptr) return;
      leave(node);
    }
    if (node == root) return;
    node = node->next;
  }
}

inline bool is_block(std::string_view n) {
  static const std::unordered_set<std::string_view> kBlock = {
      "p",       "div",        "br",     "li",     "ul",    "ol", "td",         "th",     "tr",
      "h1",      "h2",         "h3",     "h4",     "h5",    "h6", "figcaption", "figure", "section",
      "article", "blockquote", "header", "footer", "table", "dd", "dt"};
  return kBlock.count(n) != 0;
}

// The text of a subtree, blocks separated by spaces, white space folded.
inline std::string text_of(xmlNode* root) {
  std::string out;
  traverse(
      root,
      [&](xmlNode* n) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
          if (n->content != nullptr) out += reinterpret_cast<const char*>(n->content);
          return false;
        }
        if (n->type != XML_ELEMENT_NODE) return false;
        const std::string_view nm = name_of(n);
        if (nm == "script" || nm == "style" || nm == "noscript" || nm == "template") return false;
        if (is_block(nm)) out += ' ';
        return true;
      },
      [&](xmlNode* n) {
        if (n->type == XML_ELEMENT_NODE && is_block(name_of(n))) out += ' ';
      });
  return util::fold_spaces(out);
}

// Frees a document; one parsed into a thread's arena (parse_html) is handed back to it instead.
struct DocDeleter {
  void operator()(xmlDoc* d) const;
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

inline void silent(void*, const char*, ...) {}

// HTML_PARSE_NOERROR does not cover encoding errors, which libxml2 prints through its generic
// handler: mute it for the parse (the handler is per thread) and put the caller's back afterwards.
class QuietLibxml {
 public:
  QuietLibxml() : old_(xmlGenericError), old_ctx_(xmlGenericErrorContext) { xmlSetGenericErrorFunc(nullptr, silent); }
  ~QuietLibxml() { xmlSetGenericErrorFunc(old_ctx_, old_); }
  QuietLibxml(const QuietLibxml&) = delete;
  QuietLibxml& operator=(const QuietLibxml&) = delete;

 private:
  xmlGenericErrorFunc old_;
  void* old_ctx_;
};

// Parses a page with libxml2's forgiving HTML parser; null for empty, binary or oversized input. The
// text of scripts (but JSON-LD), styles and comments is left out before the parse (runtime::without_code):
// those elements are in the tree, empty. The tree lives in the thread's arena (extract_arena.h): destroy
// the DocPtr on the thread that parsed, and keep no libxml2 object made by the parse past it.
DocPtr parse_html(std::string_view html, std::string_view url);

}  // namespace vnawire::extract::dom
