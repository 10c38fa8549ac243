// The text of an HTML page as a reader sees it, for the stages that look at words (langid, dedupe).
#pragma once

#include <string>
#include <string_view>

namespace vnawire::runtime {

// Drops tags, comments, scripts and styles (tag names in any case); the text between stays. A tag
// separates words: a block tag (p, br, div, li, headings, table cells, figures) ends a line, so that
// boilerplate lines stay recognisable, any other tag is a space. A scanner, not a parser: it never
// fails on broken markup, and an unclosed script or comment hides the rest of the page, as in a browser.
std::string visible_text(std::string_view html);

}  // namespace vnawire::runtime
