// The article record the extraction stage produces, and its JSON form (../shared/eval/README.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stages/extract/extract_dates.h"
#include "stages/extract/extract_metadata.h"

namespace vnawire::extract {

struct Dateline {
  std::optional<std::string> place;
  std::optional<std::string> date;  // EDTF: 2023-09-13, 2023-09 or XXXX-09-13
};

struct RelatedItem {
  std::string title;
  std::optional<std::string> url;
};

struct Article {
  std::optional<std::string> title;
  std::optional<std::string> lead;
  std::optional<std::string> published;  // EDTF
  std::optional<Dateline> dateline;
  std::vector<std::string> body;
  std::vector<std::string> captions;
  std::vector<RelatedItem> related;
  std::vector<DateMention> dates;    // dates written in the text, EDTF (docs/extract.md)
  std::optional<PageMetadata> meta;  // HTML pages only, and only when the page says something
};

// Extracts a text dispatch as scraped from VNA's sites (title line, lead, captions, dateline, "-VNA"
// signature, "Voir plus" block, optional " date YYYY-MM " header).
Article extract_text_dispatch(std::string_view text);

class SiteProfiles;

// Extracts an HTML page: at least title and paragraphs. When a site profile matches the page, its
// selectors give the fields they find and the built-in reading the rest (docs/extract.md).
Article extract_html_page(std::string_view html, std::string_view url, const SiteProfiles* profiles = nullptr);

// The "article" object of the output contract.
nlohmann::json article_to_json(const Article& article);

}  // namespace vnawire::extract
