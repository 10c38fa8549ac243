// The HTML scanners: visible text for langid and dedupe, the page without its code for extract.
#include "stages/runtime/markup.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "stages/runtime/ascii_text.h"

namespace vnawire::runtime {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ends_name(char c) { return c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/'; }

// Whether `html` holds `lower_name` at `at`, in any case.
bool has_name_at(std::string_view html, std::size_t at, std::string_view lower_name) {
  if (at + lower_name.size() > html.size()) return false;
  for (std::size_t k = 0; k < lower_name.size(); ++k) {
    if (lower(html[at + k]) != lower_name[k]) return false;
  }
  return true;
}

// Whether the tag opening at `i` ('<') is `name`, in any case.
bool starts_with_tag(std::string_view html, std::size_t i, std::string_view name) {
  if (!has_name_at(html, i + 1, name)) return false;
  const std::size_t after = i + 1 + name.size();
  return after == html.size() || ends_name(html[after]);
}

// Position just after the closing tag `</name>`, or the end when it is missing.
std::size_t after_closing(std::string_view html, std::size_t from, std::string_view name) {
  for (std::size_t i = html.find("</", from); i != std::string_view::npos; i = html.find("</", i + 2)) {
    if (starts_with_tag(html, i + 1, name)) {
      const std::size_t close = html.find('>', i);
      return close == std::string_view::npos ? html.size() : close + 1;
    }
  }
  return html.size();
}

bool is_block(std::string_view html, std::size_t i) {
  static constexpr std::array<std::string_view, 16> kBlocks = {"p",          "br",     "div",     "li",     "h1", "h2",
                                                               "h3",         "h4",     "h5",      "h6",     "tr", "td",
                                                               "figcaption", "figure", "section", "article"};
  const std::size_t at = i + 1 < html.size() && html[i + 1] == '/' ? i + 1 : i;
  // The tag's name runs to the first character that ends one (starts_with_tag's test); only names of a
  // block's length are compared, where trying the sixteen at every tag of a page was most of this scan.
  constexpr std::size_t kLongest = 10;  // "figcaption"
  std::size_t end = at + 1;
  while (end < html.size() && end <= at + kLongest + 1 && !ends_name(html[end])) ++end;
  const std::size_t length = end - at - 1;
  if (length == 0 || length > kLongest) return false;
  for (std::string_view block : kBlocks) {
    if (block.size() == length && has_name_at(html, at + 1, block)) return true;
  }
  return false;
}

// libxml2's character classes (HTMLparser.c): IS_BLANK_CH, and the characters of htmlParseHTMLName.
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }
bool starts_html_name(char c) { return ascii_alpha(c) || c == '_' || c == ':' || c == '.'; }
bool in_html_name(char c) { return starts_html_name(c) || (c >= '0' && c <= '9') || c == '-'; }

std::size_t skip_blanks(std::string_view html, std::size_t p) {
  while (p < html.size() && is_blank(html[p])) ++p;
  return p;
}

std::size_t skip_name(std::string_view html, std::size_t p) {
  while (p < html.size() && in_html_name(html[p])) ++p;
  return p;
}

// Position just after the next '>' from `p`, or the end of the page.
std::size_t after_gt(std::string_view html, std::size_t p) {
  const std::size_t gt = html.find('>', p);
  return gt == std::string_view::npos ? html.size() : gt + 1;
}

bool at_empty_tag_end(std::string_view html, std::size_t p) {
  return html[p] == '/' && p + 1 < html.size() && html[p + 1] == '>';
}

struct StartTag {
  std::string_view name;
  std::string_view attributes;
  std::size_t end = 0;  // just after '>' or "/>"; the page's end when it ends inside the tag
  bool closed = false;  // ended by '>' (an element whose content follows), not "/>" or the page's end
};

// The start tag opening at `i` ('<' and a letter), read as htmlParseStartTag does: a value is quoted
// only right after '=', a bare value ends at a blank or '>', and an attribute that does not start
// with a name character is skipped up to a blank, '>' or "/>".
StartTag read_start_tag(std::string_view html, std::size_t i) {
  const std::size_t n = html.size();
  StartTag tag;
  std::size_t p = skip_name(html, i + 1);
  tag.name = html.substr(i + 1, p - i - 1);
  const std::size_t attributes = p;
  p = skip_blanks(html, p);
  while (p < n && html[p] != '>' && !at_empty_tag_end(html, p)) {
    if (starts_html_name(html[p])) {
      p = skip_blanks(html, skip_name(html, p));
      if (p < n && html[p] == '=') {
        p = skip_blanks(html, p + 1);
        if (p < n && (html[p] == '"' || html[p] == '\'')) {
          const std::size_t quote = html.find(html[p], p + 1);
          p = quote == std::string_view::npos ? n : quote + 1;
        } else {
          while (p < n && !is_blank(html[p]) && html[p] != '>') ++p;
        }
      }
    } else {
      while (p < n && !is_blank(html[p]) && html[p] != '>' && !at_empty_tag_end(html, p)) ++p;
    }
    p = skip_blanks(html, p);
  }
  tag.attributes = html.substr(attributes, std::min(p, n) - attributes);
  tag.closed = p < n && html[p] == '>';
  tag.end = p >= n ? n : p + (tag.closed ? 1 : 2);
  return tag;
}

// A quoted DOCTYPE identifier (htmlParseSystemLiteral): the position after its closing quote, the end
// of the page when unclosed, `p` itself when no quote opens there.
std::size_t skip_literal(std::string_view html, std::size_t p) {
  if (p >= html.size() || (html[p] != '"' && html[p] != '\'')) return p;
  const std::size_t quote = html.find(html[p], p + 1);
  return quote == std::string_view::npos ? html.size() : quote + 1;
}

// The end of `<!DOCTYPE name (SYSTEM lit | PUBLIC lit lit?)? ... >` (htmlParseDocTypeDecl), or nullopt
// when the name runs into a non-ASCII character, which libxml2's XML name rules may or may not accept.
std::optional<std::size_t> doctype_end(std::string_view html, std::size_t i) {
  std::size_t p = skip_blanks(html, i + 9);
  if (p < html.size() && starts_html_name(html[p]) && html[p] != '.') p = skip_name(html, p);
  if (p < html.size() && is_non_ascii(html[p])) return std::nullopt;
  p = skip_blanks(html, p);
  if (has_name_at(html, p, "system")) {
    p = skip_literal(html, skip_blanks(html, p + 6));
  } else if (has_name_at(html, p, "public")) {
    p = skip_literal(html, skip_blanks(html, p + 6));
    p = skip_literal(html, skip_blanks(html, p));
  }
  return after_gt(html, p);
}

// Where the comment whose text starts at `p` (after "<!--") ends: the first "-->" or "--!>" at or after
// `p` (htmlParseComment), as {where its text ends, where the comment ends}; npos when unclosed.
std::pair<std::size_t, std::size_t> comment_end(std::string_view html, std::size_t p) {
  for (std::size_t dash = html.find("--", p); dash != std::string_view::npos; dash = html.find("--", dash + 1)) {
    if (dash + 2 < html.size() && html[dash + 2] == '>') return {dash, dash + 3};
    if (dash + 3 < html.size() && html[dash + 2] == '!' && html[dash + 3] == '>') return {dash, dash + 4};
  }
  return {std::string_view::npos, std::string_view::npos};
}

// Where the text of a script or style starting at `p` ends (htmlParseScript in recovery mode): the
// first "</" followed by the element's name in any case; the end of the page when there is none.
std::size_t raw_text_end(std::string_view html, std::size_t p, std::string_view lower_name) {
  for (std::size_t close = html.find("</", p); close != std::string_view::npos; close = html.find("</", close + 2)) {
    if (has_name_at(html, close + 2, lower_name)) return close;
  }
  return html.size();
}

// Whether libxml2 may read the start of this script or style as markup: at the first character it still
// parses end tags ("<script></div>" closes the div), and "<noscript" closes a script, "<body" or
// "<frameset" a style (htmlParseContentInternal's look-ahead, without '.', and htmlStartClose).
bool markup_at_start(std::string_view html, std::size_t p, bool script) {
  if (p + 1 >= html.size() || html[p] != '<') return false;
  if (html[p + 1] == '/') return !has_name_at(html, p + 2, script ? "script" : "style");
  std::size_t end = p + 1;
  while (end < html.size() && in_html_name(html[end]) && html[end] != '.') ++end;
  const auto is = [&](std::string_view name) { return end - p - 1 == name.size() && has_name_at(html, p + 1, name); };
  return script ? is("noscript") : is("body") || is("frameset");
}

// Whether the contents of this script may be read: JSON data (JSON-LD), or a type spelled with an entity.
bool keeps_contents(const StartTag& tag) {
  for (std::size_t k = 0; k + 4 <= tag.attributes.size(); ++k) {
    if (has_name_at(tag.attributes, k, "json")) return true;
  }
  return tag.attributes.find('&') != std::string_view::npos;
}

}  // namespace

std::string visible_text(std::string_view html) {
  std::string out;
  out.reserve(html.size() / 2);
  for (std::size_t i = 0; i < html.size();) {
    if (html[i] != '<') {
      const std::size_t next = std::min(html.find('<', i), html.size());
      out.append(html.substr(i, next - i));
      i = next;
      continue;
    }
    const bool block = is_block(html, i);
    if (html.compare(i, 4, "<!--") == 0) {
      const std::size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
    } else if (starts_with_tag(html, i, "script")) {
      i = after_closing(html, i + 1, "script");
    } else if (starts_with_tag(html, i, "style")) {
      i = after_closing(html, i + 1, "style");
    } else {
      const std::size_t end = html.find('>', i);
      i = end == std::string_view::npos ? html.size() : end + 1;
    }
    out.push_back(block ? '\n' : ' ');
  }
  return out;
}

std::optional<std::string> without_code(std::string_view html) {
  const std::size_t n = html.size();
  std::string out;
  std::size_t kept = 0;  // html[kept, i) is still to be copied to `out`
  const auto leave_out = [&](std::size_t from, std::size_t to) {
    if (to <= from) return;
    if (out.empty()) out.reserve(n);
    out.append(html.substr(kept, from - kept));
    kept = to;
  };
  // Before the content (htmlParseDocument's prolog) only blanks, comments, processing instructions and
  // one DOCTYPE come; a DOCTYPE after them is parsed inside the content, which changes what follows it.
  // The parser skips a byte order mark before it looks at the prolog.
  bool in_content = false, doctype_seen = false;
  std::size_t i = html.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (i < n) {
    const void* found = std::memchr(html.data() + i, '<', n - i);
    if (found == nullptr) break;
    const std::size_t lt = static_cast<std::size_t>(static_cast<const char*>(found) - html.data());
    if (!in_content && html.find_first_not_of(" \t\n\r", i) < lt) in_content = true;
    i = lt;
    const char next = i + 1 < n ? html[i + 1] : '\0';
    const bool prolog_item = html.compare(i, 4, "<!--") == 0 || next == '?' ||
                             (next == '!' && has_name_at(html, i + 2, "doctype") && !in_content && !doctype_seen);
    if (!prolog_item) in_content = true;
    if (next == '/') {
      // An end tag runs to the next '>' (htmlParseEndTag); "</" without a name is text.
      i = i + 2 < n && starts_html_name(html[i + 2]) ? after_gt(html, i + 2) : i + 2;
    } else if (ascii_alpha(next)) {
      const StartTag tag = read_start_tag(html, i);
      i = tag.end;
      const bool script = tag.name.size() == 6 && has_name_at(tag.name, 0, "script");
      if (!tag.closed || (!script && !(tag.name.size() == 5 && has_name_at(tag.name, 0, "style")))) continue;
      if (markup_at_start(html, i, script)) return std::nullopt;
      const std::size_t end = raw_text_end(html, i, script ? "script" : "style");
      // "</scripts>" does not end a script: libxml2 goes on reading it as text.
      const std::size_t after_name = end + 2 + tag.name.size();
      if (end < n && after_name < n && in_html_name(html[after_name])) return std::nullopt;
      if (!script || !keeps_contents(tag)) leave_out(i, end);
      i = end;
    } else if (html.compare(i, 4, "<!--") == 0) {
      const auto [text_end, end] = comment_end(html, i + 4);
      if (end == std::string_view::npos) break;  // the rest of the page is the comment
      leave_out(i + 4, text_end);
      i = end;
    } else if (next == '!' && has_name_at(html, i + 2, "doctype")) {
      const std::optional<std::size_t> end = doctype_end(html, i);
      if (!end) return std::nullopt;
      i = *end;
      // Inside the content, the parser goes on with the same step after a DOCTYPE, in which a '<' that
      // opens no element, comment or processing instruction is text ("</p>" too).
      const bool misplaced = in_content;
      in_content = in_content || doctype_seen;
      doctype_seen = true;
      if (misplaced && i + 1 < n && html[i] == '<' && !ascii_alpha(html[i + 1]) && html[i + 1] != '?' &&
          html.compare(i, 4, "<!--") != 0) {
        ++i;
      }
    } else if (next == '?' && i + 2 < n && (ascii_alpha(html[i + 2]) || html[i + 2] == '_' || html[i + 2] == ':')) {
      i = after_gt(html, i + 2);  // a processing instruction runs to the next '>' (htmlParsePI)
    } else if (next == '?' && i + 2 < n && is_non_ascii(html[i + 2])) {
      return std::nullopt;  // whether this starts a processing instruction depends on XML's letters
    } else {
      i += next == '?' ? 2 : 1;  // "<?" without a name, or '<' before anything else, is text
    }
  }
  if (kept == 0) return std::nullopt;
  out.append(html.substr(kept));
  return out;
}

}  // namespace vnawire::runtime
