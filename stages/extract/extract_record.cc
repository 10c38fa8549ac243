// The record fields of an article: its JSON form, then entities, quotes, events, countries and topics.
#include "stages/extract/extract_record.h"

#include <nlohmann/json.hpp>

#include "stages/extract/extract_article_tokens.h"
#include "stages/extract/extract_entities.h"
#include "stages/extract/extract_events.h"
#include "stages/extract/extract_quotes.h"
#include "stages/extract/extract_topics.h"

namespace vnawire::extract {

void add_article_fields(const Article& article, nlohmann::json& record) {
  record["article"] = article_to_json(article);
  // Entities, quotes and events read the same words: tokenized and folded once.
  ArticleTokens tokens = tokenize_article(article);
  const Entities entities = extract_entities(article, tokens);
  record["entities"] = entities_to_json(entities);
  // Speakers are named as the entities name them, so quotes are read after the entities.
  record["quotes"] = quotes_to_json(extract_quotes(tokens, entities));
  // Participants too, so events are read after the entities; the list is always present (possibly empty).
  record["events"] = events_to_json(extract_events(article, tokens, entities));
  // For filtering ("Vietnam–Russia relations"): both lists are always present (possibly empty).
  record["countries"] = extract_countries(tokens, entities);
  record["topics"] = extract_topics(tokens);
}

}  // namespace vnawire::extract
