// Named entities of a dispatch (persons with roles and country, organisations, places), from its title,
// lead, body and captions: never from the related items (docs/extract.md, "Entities").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stages/extract/extract_article.h"

namespace vnawire::extract {

struct Person {
  std::string name;  // the fullest form in the dispatch, without honorific
  std::vector<std::string> aliases;
  std::optional<std::string> country;  // ISO2 of the country the person serves
  std::vector<std::string> roles;      // without the nationality adjective
  std::string key;                     // folded, transliteration-normalised: stable across dispatches
};

struct Organization {
  std::string name;
  std::vector<std::string> aliases;
  std::optional<std::string> acronym;
  std::optional<std::string> country;
};

struct Place {
  std::string name;
  std::vector<std::string> aliases;
  std::optional<std::string> country;
};

struct Entities {
  std::vector<Person> persons;
  std::vector<Organization> organizations;
  std::vector<Place> places;
};

struct ArticleTokens;

// Reads the units of `tokens` (tokenize_article(article)) and marks the tokens it takes for names; the
// quote and event rules then read the same tokens.
Entities extract_entities(const Article& article, ArticleTokens& tokens);
// Tokenizes the article itself, for a caller that reads nothing else from it.
Entities extract_entities(const Article& article);

// The "entities" object of the output contract.
nlohmann::json entities_to_json(const Entities& entities);

// The cross-document key of a name: folded, each word reduced to a transliteration-neutral skeleton
// ("Alexandre"/"Alexander", "Sergueï"/"Sergei" give the same key).
std::string person_key(const std::string& name);

}  // namespace vnawire::extract
