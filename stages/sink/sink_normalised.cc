// The rows the database sinks store of a record (sink_normalised.h).
#include "stages/sink/sink_normalised.h"

#include <initializer_list>
#include <map>
#include <string_view>

#include "stages/runtime/codec.h"
#include "stages/runtime/record.h"

namespace vnawire::sink {
namespace {

const nlohmann::json& array_at(const nlohmann::json& node, const char* key) {
  static const nlohmann::json empty = nlohmann::json::array();
  if (!node.is_object()) return empty;
  const auto it = node.find(key);
  return it != node.end() && it->is_array() ? *it : empty;
}

const nlohmann::json* at(const nlohmann::json& node, const char* key) {
  if (!node.is_object()) return nullptr;
  const auto it = node.find(key);
  return it == node.end() ? nullptr : &*it;
}

// A string value, or NULL for anything else (absent, null, not a string).
Text text(const nlohmann::json* value) {
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

Text text_at(const nlohmann::json& record, std::initializer_list<const char*> path) {
  const nlohmann::json* node = &record;
  for (const char* key : path) {
    node = at(*node, key);
    if (node == nullptr) return std::nullopt;
  }
  return text(node);
}

}  // namespace

DocumentRow document_row(const runtime::Document& document) {
  const auto& record = document.record;
  return DocumentRow{document.header.id,
                     text_at(record, {"url"}),
                     text_at(record, {"lang", "code"}),
                     text_at(record, {"article", "title"}),
                     text_at(record, {"article", "published"}),
                     text_at(record, {"article", "dateline", "place"}),
                     text_at(record, {"article", "dateline", "date"}),
                     runtime::record_text(document),
                     runtime::iso_now_utc()};
}

NormalisedRows normalise(const nlohmann::json& record) {
  NormalisedRows rows;
  const nlohmann::json* entities = at(record, "entities");
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& found = entities != nullptr ? *entities : empty;
  // Every name and alias of a person, for linking event participants and quote speakers to their key.
  std::map<std::string, std::string> key_of_name;
  for (const auto& person : array_at(found, "persons")) {
    const Text key = text(at(person, "key"));
    const Text name = text(at(person, "name"));
    if (!key || !name) continue;
    key_of_name[*name] = *key;
    for (const auto& alias : array_at(person, "aliases")) {
      if (alias.is_string()) key_of_name.emplace(alias.get<std::string>(), *key);
    }
    const nlohmann::json* roles = at(person, "roles");
    rows.persons.push_back({*key, *name, text(at(person, "country")),
                            (roles != nullptr && roles->is_array() ? *roles : nlohmann::json::array()).dump()});
  }
  for (const auto& organisation : array_at(found, "organizations")) {
    if (const Text name = text(at(organisation, "name"))) {
      rows.organisations.push_back({*name, text(at(organisation, "acronym")), text(at(organisation, "country"))});
    }
  }
  for (const auto& place : array_at(found, "places")) {
    if (const Text name = text(at(place, "name"))) rows.places.push_back({*name, text(at(place, "country"))});
  }
  const auto key_for = [&](const Text& name) -> Text {
    if (!name) return std::nullopt;
    const auto it = key_of_name.find(*name);
    return it == key_of_name.end() ? std::nullopt : Text(it->second);
  };
  int n = 0;
  for (const auto& event : array_at(record, "events")) {
    rows.events.push_back({n, text(at(event, "type")), text(at(event, "cameo")), text(at(event, "place")),
                           text(at(event, "start")), text(at(event, "end"))});
    for (const auto& participant : array_at(event, "participants")) {
      if (!participant.is_string()) continue;
      const std::string name = participant.get<std::string>();
      rows.participants.push_back({n, name, key_for(name)});
    }
    ++n;
  }
  n = 0;
  for (const auto& quote : array_at(record, "quotes")) {
    const Text said = text(at(quote, "text"));
    if (!said) continue;
    const Text speaker = text(at(quote, "speaker"));
    rows.quotes.push_back({n++, speaker, key_for(speaker), *said});
  }
  for (const auto& country : array_at(record, "countries")) {
    if (country.is_string()) rows.countries.push_back(country.get<std::string>());
  }
  const nlohmann::json* article = at(record, "article");
  const nlohmann::json& page = article != nullptr ? *article : empty;
  // The full text is read as the SQLite sink's view documents_text_source reads it, which its index
  // depends on: paragraphs joined by a line feed, empty ones included, and each text up to a U+0000 if it
  // has one (SQLite 3.40's json_extract ends a string there).
  const auto until_nul = [](std::string_view text) { return text.substr(0, text.find('\0')); };
  rows.title = text(at(page, "title"));
  rows.lead = text(at(page, "lead"));
  for (Text* field : {&rows.title, &rows.lead}) {
    if (*field) (*field)->resize(until_nul(**field).size());
  }
  if (article != nullptr) {
    bool first = true;
    for (const auto& paragraph : array_at(page, "body")) {
      if (!paragraph.is_string()) continue;
      if (!first) rows.body += '\n';
      first = false;
      rows.body += until_nul(paragraph.get_ref<const std::string&>());
    }
  } else if (const Text raw = text(at(record, "body"))) {
    rows.body = until_nul(*raw);  // a record that was not extracted is searched by its raw text
  }
  return rows;
}

}  // namespace vnawire::sink
