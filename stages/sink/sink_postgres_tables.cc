// The PostgreSQL sink's tables and batch statements (sink_postgres_tables.h).
#include "stages/sink/sink_postgres_tables.h"

#include <algorithm>
#include <map>
#include <set>

namespace vnawire::sink {
namespace {

// The SQLite sink's tables (sink_stages.h, sink_sqlite_tables.cc) with PostgreSQL types: the record and
// the roles are jsonb, the times timestamptz; "end" is quoted (a reserved word). The full text has a
// tsvector column ('simple' configuration: no stemming, accents kept) and a GIN index instead of FTS5.
constexpr const char* kTables = R"sql(
CREATE TABLE IF NOT EXISTS documents (
  id text PRIMARY KEY,
  url text,
  lang text,
  title text,
  published text,
  dateline_place text,
  dateline_date text,
  record jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1,
  first_stored_at timestamptz NOT NULL,
  stored_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_published ON documents(published);
CREATE INDEX IF NOT EXISTS documents_lang ON documents(lang);
CREATE TABLE IF NOT EXISTS persons (
  key text PRIMARY KEY,
  name text NOT NULL,
  country text
);
CREATE TABLE IF NOT EXISTS document_persons (
  document_id text NOT NULL,
  person_key text NOT NULL,
  name text NOT NULL,
  country text,
  roles jsonb,
  PRIMARY KEY (document_id, person_key)
);
CREATE INDEX IF NOT EXISTS document_persons_key ON document_persons(person_key);
CREATE TABLE IF NOT EXISTS document_organizations (
  document_id text NOT NULL,
  name text NOT NULL,
  acronym text,
  country text,
  PRIMARY KEY (document_id, name)
);
CREATE TABLE IF NOT EXISTS document_places (
  document_id text NOT NULL,
  name text NOT NULL,
  country text,
  PRIMARY KEY (document_id, name)
);
CREATE TABLE IF NOT EXISTS events (
  document_id text NOT NULL,
  n integer NOT NULL,
  type text,
  cameo text,
  place text,
  start text,
  "end" text,
  PRIMARY KEY (document_id, n)
);
CREATE INDEX IF NOT EXISTS events_start ON events(start);
CREATE TABLE IF NOT EXISTS event_participants (
  document_id text NOT NULL,
  n integer NOT NULL,
  name text NOT NULL,
  person_key text,
  PRIMARY KEY (document_id, n, name)
);
CREATE INDEX IF NOT EXISTS event_participants_key ON event_participants(person_key);
CREATE TABLE IF NOT EXISTS quotes (
  document_id text NOT NULL,
  n integer NOT NULL,
  speaker text,
  speaker_key text,
  text text NOT NULL,
  PRIMARY KEY (document_id, n)
);
CREATE TABLE IF NOT EXISTS document_countries (
  document_id text NOT NULL,
  country text NOT NULL,
  PRIMARY KEY (document_id, country)
);
CREATE INDEX IF NOT EXISTS document_countries_country ON document_countries(country);
CREATE TABLE IF NOT EXISTS documents_text (
  document_id text PRIMARY KEY,
  title text,
  lead text,
  body text,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
    coalesce(title, '') || ' ' || coalesce(lead, '') || ' ' || left(coalesce(body, ''), 500000))) STORED
);
CREATE INDEX IF NOT EXISTS documents_text_tsv ON documents_text USING gin (tsv);
)sql";

// Tables whose rows belong to one document (document_id), replaced whole when it is written.
constexpr const char* kDocumentTables[] = {
    "document_persons", "document_organizations", "document_places", "events", "event_participants",
    "quotes",           "document_countries"};

// Builds one multi-row statement: "INSERT INTO <head> VALUES (..), (..) <tail>;", or nothing without rows.
class Values {
 public:
  Values(pqxx::connection& connection, std::string head, std::string tail)
      : connection_(connection), head_(std::move(head)), tail_(std::move(tail)) {}

  Values& row() {
    sql_ += sql_.empty() ? "INSERT INTO " + head_ + " VALUES (" : "), (";
    first_ = true;
    return *this;
  }
  Values& raw(const std::string& sql) {
    sql_ += first_ ? "" : ", ";
    sql_ += sql;
    first_ = false;
    return *this;
  }
  // A text literal; PostgreSQL text cannot hold NUL, so NULs are left out.
  Values& text(const std::string& value) {
    if (value.find('\0') == std::string::npos) return raw("'" + escaped(value) + "'");
    std::string clean = value;
    clean.erase(std::remove(clean.begin(), clean.end(), '\0'), clean.end());
    return raw("'" + escaped(clean) + "'");
  }
  Values& text(const Text& value) { return value ? text(*value) : raw("NULL"); }
  Values& number(int value) { return raw(std::to_string(value)); }

  std::string escaped(const std::string& value) {
    try {
      return connection_.esc(value);
    } catch (const pqxx::argument_error&) {
      // Not UTF-8: invalid bytes are replaced (U+FFFD) as in the record's JSON, so the columns match it.
      const nlohmann::json replaced =
          nlohmann::json::parse(nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return connection_.esc(replaced.get<std::string>());
    }
  }

  void append_to(std::string& out) const {
    if (!sql_.empty()) out += sql_ + ") " + tail_ + ";\n";
  }

 private:
  pqxx::connection& connection_;
  std::string head_, tail_, sql_;
  bool first_ = true;
};

// The statements for rows of distinct ids, in id order (replicas then lock rows in the same order).
std::string round_sql(pqxx::connection& connection, std::vector<const PostgresRow*> round) {
  std::sort(round.begin(), round.end(),
            [](const PostgresRow* a, const PostgresRow* b) { return a->document.id < b->document.id; });
  std::string ids;
  for (const PostgresRow* row : round) ids += (ids.empty() ? "'" : ", '") + connection.esc(row->document.id) + "'";
  std::string sql;
  for (const char* table : kDocumentTables) {
    sql += std::string("DELETE FROM ") + table + " WHERE document_id IN (" + ids + ");\n";
  }
  Values documents(connection,
                   "documents AS d (id, url, lang, title, published, dateline_place, dateline_date, record, version, "
                   "first_stored_at, stored_at)",
                   "ON CONFLICT (id) DO UPDATE SET url = excluded.url, lang = excluded.lang, title = excluded.title, "
                   "published = excluded.published, dateline_place = excluded.dateline_place, dateline_date = "
                   "excluded.dateline_date, version = d.version + (d.record IS DISTINCT FROM excluded.record)::int, "
                   "record = excluded.record, stored_at = excluded.stored_at");
  Values persons(connection, "persons AS p (key, name, country)",
                 "ON CONFLICT (key) DO UPDATE SET name = excluded.name, country = COALESCE(excluded.country, "
                 "p.country)");
  Values document_persons(connection, "document_persons (document_id, person_key, name, country, roles)",
                          "ON CONFLICT DO NOTHING");
  Values organisations(connection, "document_organizations (document_id, name, acronym, country)",
                       "ON CONFLICT DO NOTHING");
  Values places(connection, "document_places (document_id, name, country)", "ON CONFLICT DO NOTHING");
  Values events(connection, "events (document_id, n, type, cameo, place, start, \"end\")", "ON CONFLICT DO NOTHING");
  Values participants(connection, "event_participants (document_id, n, name, person_key)", "ON CONFLICT DO NOTHING");
  Values quotes(connection, "quotes (document_id, n, speaker, speaker_key, text)", "ON CONFLICT DO NOTHING");
  Values countries(connection, "document_countries (document_id, country)", "ON CONFLICT DO NOTHING");
  Values text(connection, "documents_text (document_id, title, lead, body)",
              "ON CONFLICT (document_id) DO UPDATE SET title = excluded.title, lead = excluded.lead, body = "
              "excluded.body");
  // One row per person key (a statement may not update a row twice): the last name, the last known country.
  std::map<std::string, std::pair<std::string, Text>> people;
  for (const PostgresRow* row : round) {
    const DocumentRow& d = row->document;
    const std::string& id = d.id;
    documents.row().text(id).text(d.url).text(d.lang).text(d.title).text(d.published).text(d.dateline_place);
    documents.text(d.dateline_date).raw("'" + connection.esc(d.record) + "'::jsonb").number(1);
    documents.text(d.stored_at).text(d.stored_at);
    const NormalisedRows& r = row->rows;
    for (const auto& p : r.persons) {
      document_persons.row().text(id).text(p.key).text(p.name).text(p.country).raw("'" + connection.esc(p.roles) +
                                                                                   "'::jsonb");
      auto& person = people[p.key];
      person.first = p.name;
      if (p.country) person.second = p.country;
    }
    for (const auto& o : r.organisations) organisations.row().text(id).text(o.name).text(o.acronym).text(o.country);
    for (const auto& p : r.places) places.row().text(id).text(p.name).text(p.country);
    for (const auto& e : r.events) {
      events.row().text(id).number(e.n).text(e.type).text(e.cameo).text(e.place).text(e.start).text(e.end);
    }
    for (const auto& p : r.participants) participants.row().text(id).number(p.n).text(p.name).text(p.person_key);
    for (const auto& q : r.quotes) quotes.row().text(id).number(q.n).text(q.speaker).text(q.speaker_key).text(q.text);
    for (const auto& c : r.countries) countries.row().text(id).text(c);
    text.row().text(id).text(r.title).text(r.lead).text(r.body);
  }
  for (const auto& [key, person] : people) persons.row().text(key).text(person.first).text(person.second);
  for (const Values* values : {&documents, &persons, &document_persons, &organisations, &places, &events, &participants,
                               &quotes, &countries, &text}) {
    values->append_to(sql);
  }
  return sql;
}

}  // namespace

runtime::Status migrate_postgres(pqxx::connection& connection) {
  pqxx::work tx(connection);
  // Replicas starting together would race on CREATE ... IF NOT EXISTS: one sets up, the others wait.
  tx.exec("SELECT pg_advisory_xact_lock(7362819)");
  tx.exec("CREATE TABLE IF NOT EXISTS vnawire_schema (version integer NOT NULL)");
  const int found = tx.exec1("SELECT coalesce(max(version), 0) FROM vnawire_schema")[0].as<int>();
  if (found > kPostgresSchemaVersion) {
    return runtime::Status::error("the database is of schema version " + std::to_string(found) +
                                  ", written by a later vnawire; this one writes up to " +
                                  std::to_string(kPostgresSchemaVersion));
  }
  if (found < kPostgresSchemaVersion) {
    tx.exec(kTables);
    tx.exec("DELETE FROM vnawire_schema");
    tx.exec("INSERT INTO vnawire_schema (version) VALUES (" + std::to_string(kPostgresSchemaVersion) + ")");
  }
  tx.commit();
  return {};
}

std::vector<std::string> batch_sql(pqxx::connection& connection, const std::vector<const PostgresRow*>& batch) {
  // A statement may not upsert the same row twice: a second copy of an id (an update, a replay) starts
  // the next round, so each version is written in order, as the SQLite sink does.
  std::vector<std::string> statements;
  std::vector<const PostgresRow*> round;
  std::set<std::string> ids;
  for (const PostgresRow* row : batch) {
    if (!ids.insert(row->document.id).second) {
      statements.push_back(round_sql(connection, round));
      round.clear();
      ids = {row->document.id};
    }
    round.push_back(row);
  }
  if (!round.empty()) statements.push_back(round_sql(connection, round));
  return statements;
}

}  // namespace vnawire::sink
