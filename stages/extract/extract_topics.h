// Topics and countries of a dispatch, so that a user can filter on them ("Vietnam–Russia relations"):
// countries from the entities, topics from keyword lexicons (docs/extract.md, "Topics and countries").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entities.h"

namespace vnawire::extract {

// The fixed topic list, in the order topics are written.
const std::vector<std::string>& topic_names();

// Topics whose keywords (config/lexicons/topics.tsv) hit at least twice in the title, lead and body, or
// once in the title; in topic_names() order.
std::vector<std::string> extract_topics(const Article& article);

// ISO2 codes of the persons', organisations' and places' countries, unique, in order of first mention of
// an entity of that country in the title, lead, body and captions.
std::vector<std::string> extract_countries(const Article& article, const Entities& entities);

struct ArticleTokens;

// The same from the words the entity rules read (tokenize_article), without tokenizing again.
std::vector<std::string> extract_topics(const ArticleTokens& tokens);
std::vector<std::string> extract_countries(const ArticleTokens& tokens, const Entities& entities);

}  // namespace vnawire::extract
