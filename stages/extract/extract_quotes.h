// Direct speech of a dispatch (text between « », " " or “ ”) with its speaker, from its title, lead, body
// and captions: never from the related items (docs/extract.md, "Quotes").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entities.h"

namespace vnawire::extract {

struct Quote {
  std::optional<std::string> speaker;  // a person's canonical name from the entities; empty when unknown
  std::string text;                    // inside the quotation marks, white space folded
};

struct ArticleTokens;

// `entities` are the dispatch's own, read from the same `tokens` (extract_entities): speakers are given by
// their canonical names.
std::vector<Quote> extract_quotes(const ArticleTokens& tokens, const Entities& entities);
// Tokenizes the article again, for a caller that has no ArticleTokens.
std::vector<Quote> extract_quotes(const Article& article, const Entities& entities);

// The "quotes" list of the output contract.
nlohmann::json quotes_to_json(const std::vector<Quote>& quotes);

}  // namespace vnawire::extract
