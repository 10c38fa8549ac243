// The generic main-text extractor: the article's paragraphs of any news page, by text and link density.
#pragma once

#include <string>
#include <string_view>
#include <vector>

struct _xmlNode;

namespace vnawire::extract {

// The main text's blocks (paragraphs, headings, list items) in document order; empty when the page
// has no article-like text, or is empty, binary or not HTML at all. Never throws.
std::vector<std::string> extract_generic_text(std::string_view html);

// The same on a page already parsed by libxml2 (the root element), so a caller parses once.
std::vector<std::string> extract_generic_text(_xmlNode* root);

}  // namespace vnawire::extract
