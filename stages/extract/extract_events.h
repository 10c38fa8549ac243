// Events of a dispatch (visits, meetings, phone calls, signed agreements, conferences) with their named
// participants, place and dates, from its title, lead and body (docs/extract.md, "Events").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entities.h"

namespace vnawire::extract {

struct Event {
  std::string type;                       // visit, meeting, phone_call, agreement or conference
  std::vector<std::string> participants;  // canonical person names from the entities
  std::optional<std::string> place;
  std::optional<std::string> start;  // EDTF
  std::optional<std::string> end;    // EDTF
  std::string cameo;                 // CAMEO event code of the type (docs/extract.md, "Events")
};

struct ArticleTokens;

// `entities` are the dispatch's own, read from the same `tokens` (extract_entities): participants are given
// by their canonical names.
std::vector<Event> extract_events(const Article& article, const ArticleTokens& tokens, const Entities& entities);
// Tokenizes the article again, for a caller that has no ArticleTokens.
std::vector<Event> extract_events(const Article& article, const Entities& entities);

// The "events" list of the output contract.
nlohmann::json events_to_json(const std::vector<Event>& events);

}  // namespace vnawire::extract
