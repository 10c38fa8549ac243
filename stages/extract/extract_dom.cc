// The quiet forgiving parse behind every HTML extractor.
#include "stages/extract/extract_dom.h"

#include <climits>
#include <mutex>
#include <optional>

#include "stages/extract/extract_arena.h"
#include "stages/runtime/byte_scan.h"
#include "stages/runtime/markup.h"

namespace vnawire::extract::dom {

void DocDeleter::operator()(xmlDoc* d) const {
  if (!arena::release(d)) xmlFreeDoc(d);
}

DocPtr parse_html(std::string_view html, std::string_view url) {
  if (html.empty() || html.size() > util::kMaxInputBytes || html.size() > static_cast<std::size_t>(INT_MAX)) return {};
  if (util::looks_binary(html)) return {};
  static std::once_flag init;
  std::call_once(init, [] {
    xmlInitParser();
    arena::install();
  });
  const std::string base(url);
  // libxml2 reads an undeclared HTML page as Latin-1: say UTF-8 when the bytes are UTF-8. Only then is the
  // code left out: in other bytes, what a script holds may change how libxml2 decodes the rest.
  const bool utf8 = runtime::is_valid_utf8(html);
  const std::optional<std::string> lean = utf8 ? runtime::without_code(html) : std::nullopt;
  const std::string_view input = lean ? std::string_view(*lean) : html;
  // XML_PARSE_HUGE lifts libxml2's depth cap of 256 elements, past which the HTML parser drops the rest
  // of the page: the walks here are iterative, and the input is bounded by kMaxInputBytes anyway.
  const int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                      HTML_PARSE_COMPACT | XML_PARSE_HUGE;
  const QuietLibxml quiet;
  arena::Parse in_arena;
  xmlDoc* doc = htmlReadMemory(input.data(), static_cast<int>(input.size()), base.empty() ? nullptr : base.c_str(),
                               utf8 ? "UTF-8" : nullptr, options);
  in_arena.adopt(doc);
  return DocPtr(doc);
}

}  // namespace vnawire::extract::dom
