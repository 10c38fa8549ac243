// What the database sinks store of a record, independent of the database: the documents row and the
// rows of the normalised tables (persons, organisations, places, events and their participants,
// quotes, countries, full text). The SQLite and PostgreSQL sinks write the same rows, so a user can
// switch databases and keep their queries.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "stages/runtime/document.h"

namespace vnawire::sink {

using Text = std::optional<std::string>;  // nullopt: NULL

// One document's documents row, kept until its transaction commits: the runtime counts a document
// stored once on_message returns, so a batch whose COMMIT fails must be written again, not lost.
struct DocumentRow {
  std::string id;
  Text url, lang, title, published, dateline_place, dateline_date;
  std::string record;  // the whole record as JSON (invalid UTF-8 replaced)
  std::string stored_at;
};

DocumentRow document_row(const runtime::Document& document);

struct NormalisedRows {
  struct Person {
    std::string key, name;
    Text country;
    std::string roles;  // a JSON array
  };
  struct Organisation {
    std::string name;
    Text acronym, country;
  };
  struct Place {
    std::string name;
    Text country;
  };
  struct Event {
    int n = 0;  // its place in the record's events
    Text type, cameo, place, start, end;
  };
  struct Participant {
    int n = 0;
    std::string name;
    Text person_key;  // when the participant is one of the document's persons
  };
  struct Quote {
    int n = 0;
    Text speaker, speaker_key;
    std::string text;
  };
  std::vector<Person> persons;
  std::vector<Organisation> organisations;
  std::vector<Place> places;
  std::vector<Event> events;
  std::vector<Participant> participants;
  std::vector<Quote> quotes;
  std::vector<std::string> countries;  // ISO 3166-1 alpha-2
  Text title, lead;
  std::string body;  // the article's paragraphs, or the raw body of a record that was not extracted
};

// The rows of `record`, in record order; duplicates are left to the tables' keys (the first row wins).
NormalisedRows normalise(const nlohmann::json& record);

}  // namespace vnawire::sink
