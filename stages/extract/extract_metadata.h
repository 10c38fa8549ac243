// Page metadata of an HTML page: JSON-LD, Open Graph, plain <meta>, canonical link, <time> and bylines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

// libxml2's node type, declared as libxml2 does so that users of the Article need not see libxml2.
typedef struct _xmlNode xmlNode;

namespace vnawire::extract {

// What a page says about itself, each field from the most trusted source that gives it: JSON-LD,
// then Open Graph, then plain <meta> and <link rel=canonical>, then <time> and bylines.
struct PageMetadata {
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> published;  // ISO 8601 as the page gives it, zone kept
  std::optional<std::string> updated;
  std::vector<std::string> authors;
  std::optional<std::string> section;
  std::vector<std::string> tags;
  std::optional<std::string> canonical_url;
  std::optional<std::string> image;
  std::optional<std::string> locale;

  bool empty() const;
};

// Reads the metadata of the document under `root`; broken JSON-LD blocks are skipped.
PageMetadata read_page_metadata(xmlNode* root);

// The "article.meta" object: only the fields found.
nlohmann::json metadata_to_json(const PageMetadata& meta);

}  // namespace vnawire::extract
