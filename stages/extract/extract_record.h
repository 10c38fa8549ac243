// The fields the extract stage adds to a record from an article, shared by the stage and tests/fuzz.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "stages/extract/extract_article.h"

namespace vnawire::extract {

// Sets "article", "entities", "quotes", "events", "countries" and "topics" of `record` (the lists always
// present, possibly empty).
void add_article_fields(const Article& article, nlohmann::json& record);

}  // namespace vnawire::extract
