// Scanners over raw HTML: the text a reader sees (langid, dedupe), and the page without its code (extract).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vnawire::runtime {

// Drops tags, comments, scripts and styles (tag names in any case); the text between stays. A tag
// separates words: a block tag (p, br, div, li, headings, table cells, figures) ends a line, so that
// boilerplate lines stay recognisable, any other tag is a space. A scanner, not a parser: it never
// fails on broken markup, and an unclosed script or comment hides the rest of the page, as in a browser.
std::string visible_text(std::string_view html);

// The page with the contents of its scripts and styles, and the text of its comments, left out; every
// tag stays, so libxml2's HTML parser builds the same tree from it, only with those elements empty.
// A script whose start tag mentions JSON (`type="application/ld+json"`) or holds an entity keeps its
// contents: the metadata is read from it. libxml2 reads that text character by character, and on
// today's pages it is half of the bytes.
//
// The scanner follows libxml2 2.9's HTML tokenizer where it decides what is markup: start tags with
// quoted or bare attribute values, end tags, comments (closed by "-->" or "--!>"), DOCTYPE and
// processing instructions, and script or style text up to "</script" or "</style" in any case.
// Where it could disagree with the parser (an unclosed attribute quote, a quoted DOCTYPE part left
// unclosed, "</scripts>" inside a script, a non-ASCII name) it gives up: nullopt, parse the page as
// it is. Also nullopt when nothing was left out. Only for UTF-8 pages parsed with the encoding given
// and HTML_PARSE_RECOVER, the way `extract` parses them: other bytes may change how libxml2 decodes.
std::optional<std::string> without_code(std::string_view html);

}  // namespace vnawire::runtime
