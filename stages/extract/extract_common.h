// Pieces of dispatch layout shared by the text and HTML extractors: photo credits, the "-VNA"
// signature, "Voir plus" markers, and the final clean-up of an Article.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "stages/extract/extract_article.h"

namespace vnawire::extract {

// A photo credit found in a line: "… Photo: VNA", "… Photo : Thanh Tung/VNA", "(Ảnh: TTXVN)",
// "Source: VNA". `caption` is the text before it (may be empty); `rest` is text glued after the
// credit ("… Photo : VNA La délégation a eu…"), which belongs to the next paragraph.
struct Credit {
  std::string caption;
  std::string rest;
};
std::optional<Credit> find_credit(std::string_view line);

// "… du pays. -VNA" -> "… du pays."; nullopt when the paragraph has no signature.
std::optional<std::string> strip_signature(std::string_view paragraph);

// "Voir plus", "See more", "Xem thêm", "Ver más"… alone on a line.
bool is_related_marker(std::string_view line);

// Lines that are scraping debris ("source" alone, the agency name alone).
bool is_debris_line(std::string_view line);

// Folds white space, repairs spacing and glued words (see extract_wordsplit.h) in every field,
// drops empty entries and guarantees valid UTF-8, so that the record always serialises.
void finalize_article(Article& article);

}  // namespace vnawire::extract
