// The visible-text scanner shared by langid and dedupe.
#include "stages/runtime/markup.h"

#include <algorithm>
#include <array>

namespace vnawire::runtime {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ends_name(char c) { return c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/'; }

// Whether the tag opening at `i` ('<') is `name`, in any case.
bool starts_with_tag(std::string_view html, std::size_t i, std::string_view name) {
  if (i + 1 + name.size() > html.size()) return false;
  for (std::size_t k = 0; k < name.size(); ++k) {
    if (lower(html[i + 1 + k]) != name[k]) return false;
  }
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
  static constexpr std::array<std::string_view, 16> kBlocks = {
      "p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "figcaption", "figure", "section",
      "article"};
  const std::size_t at = i + 1 < html.size() && html[i + 1] == '/' ? i + 1 : i;
  for (std::string_view block : kBlocks) {
    if (starts_with_tag(html, at, block)) return true;
  }
  return false;
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

}  // namespace vnawire::runtime
