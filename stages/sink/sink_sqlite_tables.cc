// The SQLite sink's normalised tables and migrations (sink_sqlite_tables.h).
#include "stages/sink/sink_sqlite_tables.h"

#include <type_traits>

#include "stages/runtime/json_parse.h"
#include "stages/sink/sink_normalised.h"
#include "stages/sink/sink_stages.h"

namespace vnawire::sink {
namespace {

// Version 2: who, what and where of each document, one row per fact, keyed by the document's id.
constexpr const char* kTablesV2 = R"sql(
CREATE TABLE IF NOT EXISTS persons (
  key TEXT PRIMARY KEY,      -- stable across documents and transliterations (entities.persons[].key)
  name TEXT NOT NULL,        -- as last seen
  country TEXT
);
CREATE TABLE IF NOT EXISTS document_persons (
  document_id TEXT NOT NULL,
  person_key TEXT NOT NULL,
  name TEXT NOT NULL,
  country TEXT,
  roles TEXT,                -- JSON array
  PRIMARY KEY (document_id, person_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS document_persons_key ON document_persons(person_key);
CREATE TABLE IF NOT EXISTS document_organizations (
  document_id TEXT NOT NULL,
  name TEXT NOT NULL,
  acronym TEXT,
  country TEXT,
  PRIMARY KEY (document_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS document_places (
  document_id TEXT NOT NULL,
  name TEXT NOT NULL,
  country TEXT,
  PRIMARY KEY (document_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  document_id TEXT NOT NULL,
  n INTEGER NOT NULL,        -- its place in the record's events
  type TEXT,
  cameo TEXT,
  place TEXT,
  start TEXT,                -- EDTF
  end TEXT,
  PRIMARY KEY (document_id, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_start ON events(start);
CREATE TABLE IF NOT EXISTS event_participants (
  document_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  name TEXT NOT NULL,
  person_key TEXT,           -- when the participant is one of the document's persons
  PRIMARY KEY (document_id, n, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_participants_key ON event_participants(person_key);
CREATE TABLE IF NOT EXISTS quotes (
  document_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  speaker TEXT,
  speaker_key TEXT,
  text TEXT NOT NULL,
  PRIMARY KEY (document_id, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS document_countries (
  document_id TEXT NOT NULL,
  country TEXT NOT NULL,     -- ISO 3166-1 alpha-2
  PRIMARY KEY (document_id, country)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS document_countries_country ON document_countries(country);
)sql";

// Version 3: the full-text index of title, lead and body (rowid = documents.rowid; accents are ignored in
// matches) keeps no copy of the texts, a third of what a text dispatch wrote: it reads them, when a query
// asks for a column, snippet() or highlight(), from the view below, which reads them out of each record
// exactly as normalise() does (sink_normalised.h; the sink's test checks the two agree). Taking a
// document out of the index needs the texts it was indexed with: NormalisedWriter::before_replacing().
// The paragraphs are read by index, not with json_each(): FTS5 reads its content without virtual tables,
// so its 'rebuild' and 'integrity-check' commands fail on a view that uses one (SQLite 3.40).
// automerge 8 (FTS5's default is 4): index segments are merged once eight of a size are there, not four, so
// each posting is written again fewer times as the file grows. Measured on 30,000 text dispatches (the index
// alone): 13-17% less CPU per insert, queries ranked by relevance 4-5% slower, counts unchanged (docs/sinks.md).
constexpr const char* kTextV3 = R"sql(
CREATE VIEW IF NOT EXISTS documents_text_source (doc_rowid, title, lead, body) AS SELECT
  rowid,
  CASE WHEN json_type(record, '$.article.title') = 'text' THEN json_extract(record, '$.article.title') END,
  CASE WHEN json_type(record, '$.article.lead') = 'text' THEN json_extract(record, '$.article.lead') END,
  CASE
    WHEN json_type(record, '$.article') IS NULL THEN
      CASE WHEN json_type(record, '$.body') = 'text' THEN json_extract(record, '$.body') ELSE '' END
    WHEN json_type(record, '$.article.body') = 'array' THEN coalesce((
      SELECT group_concat(paragraph, char(10)) FROM (
        WITH RECURSIVE n(i) AS (
          SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < json_array_length(record, '$.article.body'))
        SELECT json_extract(record, '$.article.body[' || i || ']') AS paragraph,
               json_type(record, '$.article.body[' || i || ']') AS type FROM n)
      WHERE type = 'text'), '')
    ELSE ''
  END
FROM documents;
CREATE VIRTUAL TABLE IF NOT EXISTS documents_text USING fts5(
  title, lead, body, content = 'documents_text_source', content_rowid = 'doc_rowid',
  tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO documents_text (documents_text, rank) VALUES ('automerge', 8);
)sql";

constexpr const char* kStatementsSql[] = {
    "SELECT rowid, record FROM documents WHERE id = ?1",
    "DELETE FROM document_persons WHERE document_id = ?1",
    "DELETE FROM document_organizations WHERE document_id = ?1",
    "DELETE FROM document_places WHERE document_id = ?1",
    "DELETE FROM events WHERE document_id = ?1",
    "DELETE FROM event_participants WHERE document_id = ?1",
    "DELETE FROM quotes WHERE document_id = ?1",
    "DELETE FROM document_countries WHERE document_id = ?1",
    "INSERT INTO documents_text (documents_text, rowid, title, lead, body) VALUES ('delete', ?1, ?2, ?3, ?4)",
    "INSERT OR IGNORE INTO document_persons (document_id, person_key, name, country, roles) VALUES (?1, ?2, ?3, ?4, "
    "?5)",
    "INSERT OR IGNORE INTO document_organizations (document_id, name, acronym, country) VALUES (?1, ?2, ?3, ?4)",
    "INSERT OR IGNORE INTO document_places (document_id, name, country) VALUES (?1, ?2, ?3)",
    "INSERT OR IGNORE INTO events (document_id, n, type, cameo, place, start, end) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "INSERT OR IGNORE INTO event_participants (document_id, n, name, person_key) VALUES (?1, ?2, ?3, ?4)",
    "INSERT OR IGNORE INTO quotes (document_id, n, speaker, speaker_key, text) VALUES (?1, ?2, ?3, ?4, ?5)",
    "INSERT OR IGNORE INTO document_countries (document_id, country) VALUES (?1, ?2)",
    "INSERT INTO documents_text (rowid, title, lead, body) VALUES (?1, ?2, ?3, ?4)",
    "INSERT INTO persons (key, name, country) VALUES (?1, ?2, ?3) "
    "ON CONFLICT(key) DO UPDATE SET name = excluded.name, country = COALESCE(excluded.country, persons.country)",
};

void bind_text(sqlite3_stmt* statement, int index, const std::string& text) {
  sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

// Binds a string, or NULL.
void bind_text(sqlite3_stmt* statement, int index, const Text& text) {
  if (text) {
    bind_text(statement, index, *text);
  } else {
    sqlite3_bind_null(statement, index);
  }
}

int run(sqlite3_stmt* statement) {
  const int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  return rc;
}

int user_version(sqlite3* db) {
  sqlite3_stmt* statement = nullptr;
  int version = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nullptr) == SQLITE_OK &&
      sqlite3_step(statement) == SQLITE_ROW) {
    version = sqlite3_column_int(statement, 0);
  }
  sqlite3_finalize(statement);
  return version;
}

runtime::Status exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message != nullptr ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    return runtime::Status::error(why);
  }
  return {};
}

// From 1: every normalised table, from each stored record; from 2 (`text_only`), the full-text index.
runtime::Status fill_from_records(sqlite3* db, bool text_only) {
  NormalisedWriter writer;
  if (auto prepared = writer.prepare(db); !prepared.ok()) return prepared;
  sqlite3_stmt* rows = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT rowid, id, record FROM documents", -1, &rows, nullptr) != SQLITE_OK) {
    return runtime::Status::error(sqlite3_errmsg(db));
  }
  // The texts kept for the index are written every kTextBatch documents, not all at the end: a large
  // file's texts do not fit in memory.
  constexpr std::size_t kTextBatch = 1000;
  std::size_t kept = 0;
  int rc = SQLITE_OK;
  const auto failed = [&](const std::string& what) {
    const std::string why = sqlite3_errmsg(db);
    sqlite3_finalize(rows);
    return runtime::Status::error(what + why);
  };
  while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
    const sqlite3_int64 rowid = sqlite3_column_int64(rows, 0);
    const std::string id(reinterpret_cast<const char*>(sqlite3_column_text(rows, 1)));
    const char* text = reinterpret_cast<const char*>(sqlite3_column_text(rows, 2));
    const nlohmann::json record = runtime::parse_json(text != nullptr ? text : "{}");
    if (record.is_discarded()) continue;  // a record that is not JSON keeps its documents row only
    if (text_only) {
      writer.keep_text(rowid, record);
    } else if (writer.write(id, rowid, record) != SQLITE_DONE) {
      return failed("filling the tables from " + id + ": ");
    }
    if (++kept % kTextBatch == 0 && writer.write_text() != SQLITE_DONE) return failed("indexing the texts: ");
  }
  sqlite3_finalize(rows);
  if (rc != SQLITE_DONE) return runtime::Status::error(sqlite3_errmsg(db));
  if (writer.write_text() != SQLITE_DONE) return runtime::Status::error(sqlite3_errmsg(db));
  return {};
}

}  // namespace

runtime::Status migrate_sqlite(sqlite3* db) {
  const auto refused = [](int found) {
    return runtime::Status::error("the database is of schema version " + std::to_string(found) +
                                  ", written by a later vnawire; this one reads up to " +
                                  std::to_string(kSqliteSchemaVersion));
  };
  int found = user_version(db);
  if (found > kSqliteSchemaVersion) return refused(found);
  if (found == kSqliteSchemaVersion) return {};
  if (auto begun = exec(db, "BEGIN IMMEDIATE"); !begun.ok()) return begun;
  // Read again under the lock: another replica (of this vnawire or another) may have migrated the file
  // while this one waited.
  found = user_version(db);
  if (found >= kSqliteSchemaVersion) {
    (void)exec(db, "ROLLBACK");
    return found > kSqliteSchemaVersion ? refused(found) : runtime::Status{};
  }
  runtime::Status status = exec(db, kSqliteSchema);
  if (status.ok()) status = exec(db, kTablesV2);
  // Version 2's index kept its own copy of the texts: it is made again.
  if (status.ok()) status = exec(db, "DROP TABLE IF EXISTS documents_text");
  if (status.ok()) status = exec(db, kTextV3);
  if (status.ok()) status = fill_from_records(db, /*text_only=*/found >= 2);
  if (status.ok()) status = exec(db, "PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion));
  if (status.ok()) status = exec(db, "COMMIT");
  if (!status.ok()) {
    (void)exec(db, "ROLLBACK");
    return runtime::Status::error("migrating the database from schema version " + std::to_string(found) + " to " +
                                  std::to_string(kSqliteSchemaVersion) + ": " + status.message());
  }
  return {};
}

NormalisedWriter::~NormalisedWriter() { finalize(); }

void NormalisedWriter::finalize() {
  for (sqlite3_stmt*& statement : statements_) {
    sqlite3_finalize(statement);
    statement = nullptr;
  }
}

runtime::Status NormalisedWriter::prepare(sqlite3* db) {
  db_ = db;
  for (int i = 0; i < kStatements; ++i) {
    if (sqlite3_prepare_v3(db, kStatementsSql[i], -1, SQLITE_PREPARE_PERSISTENT, &statements_[i], nullptr) !=
        SQLITE_OK) {
      return runtime::Status::error(std::string("cannot prepare \"") + kStatementsSql[i] + "\": " + sqlite3_errmsg(db));
    }
  }
  return {};
}

int NormalisedWriter::write(const std::string& id, sqlite3_int64 rowid, const nlohmann::json& record, bool replacing) {
  // Seven look-ups that find nothing for a new document: 4% of SqliteSink::on_message's instructions.
  for (int statement = kDeletePersons; replacing && statement <= kDeleteCountries; ++statement) {
    bind_text(statements_[statement], 1, id);
    if (int rc = run(statements_[statement]); rc != SQLITE_DONE) return rc;
  }
  NormalisedRows rows = normalise(record);
  // Runs `statement` with `id` first, then `values` (Text, std::string or int) in order.
  const auto insert = [&](Statement statement, const auto&... values) {
    sqlite3_stmt* prepared = statements_[statement];
    bind_text(prepared, 1, id);
    int index = 2;
    const auto bind = [&](const auto& value) {
      if constexpr (std::is_same_v<std::decay_t<decltype(value)>, int>) {
        sqlite3_bind_int(prepared, index++, value);
      } else {
        bind_text(prepared, index++, value);
      }
    };
    (bind(values), ...);
    return run(prepared);
  };
  int rc = SQLITE_DONE;
  for (const auto& person : rows.persons) {
    if (rc = insert(kInsertPerson, person.key, person.name, person.country, person.roles); rc != SQLITE_DONE) return rc;
    sqlite3_stmt* upsert_person = statements_[kUpsertPerson];
    bind_text(upsert_person, 1, person.key);
    bind_text(upsert_person, 2, person.name);
    bind_text(upsert_person, 3, person.country);
    if (rc = run(upsert_person); rc != SQLITE_DONE) return rc;
  }
  for (const auto& o : rows.organisations) {
    if (rc = insert(kInsertOrganisation, o.name, o.acronym, o.country); rc != SQLITE_DONE) return rc;
  }
  for (const auto& place : rows.places) {
    if (rc = insert(kInsertPlace, place.name, place.country); rc != SQLITE_DONE) return rc;
  }
  for (const auto& e : rows.events) {
    if (rc = insert(kInsertEvent, e.n, e.type, e.cameo, e.place, e.start, e.end); rc != SQLITE_DONE) return rc;
  }
  for (const auto& p : rows.participants) {
    if (rc = insert(kInsertParticipant, p.n, p.name, p.person_key); rc != SQLITE_DONE) return rc;
  }
  for (const auto& q : rows.quotes) {
    if (rc = insert(kInsertQuote, q.n, q.speaker, q.speaker_key, q.text); rc != SQLITE_DONE) return rc;
  }
  for (const auto& country : rows.countries) {
    if (rc = insert(kInsertCountry, country); rc != SQLITE_DONE) return rc;
  }
  keep(rowid, std::move(rows));
  return SQLITE_DONE;
}

NormalisedWriter::TextRow NormalisedWriter::text_row(sqlite3_int64 rowid, NormalisedRows&& rows) {
  return TextRow{rowid, std::move(rows.title), std::move(rows.lead), std::move(rows.body)};
}

void NormalisedWriter::keep(sqlite3_int64 rowid, NormalisedRows&& rows) {
  TextRow text = text_row(rowid, std::move(rows));
  if (const auto [at, added] = text_of_rowid_.try_emplace(rowid, texts_.size()); !added) {
    texts_[at->second] = std::move(text);  // the same document twice in one transaction: its last version
  } else {
    texts_.push_back(std::move(text));
  }
}

void NormalisedWriter::keep_text(sqlite3_int64 rowid, const nlohmann::json& record) { keep(rowid, normalise(record)); }

int NormalisedWriter::before_replacing(const std::string& id, bool* stored) {
  sqlite3_stmt* select = statements_[kSelectStored];
  bind_text(select, 1, id);
  int rc = sqlite3_step(select);
  *stored = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW) {
    const sqlite3_int64 rowid = sqlite3_column_int64(select, 0);
    // What the index holds is the last committed version's texts: a document already replaced (or first
    // stored) in this transaction has none in the index beyond those, its new texts wait in texts_.
    if (text_of_rowid_.count(rowid) == 0 && indexed_rowids_.insert(rowid).second) {
      const char* stored_text = reinterpret_cast<const char*>(sqlite3_column_text(select, 1));
      const int size = sqlite3_column_bytes(select, 1);
      // A record that is not JSON was never indexed (fill_from_records leaves it out).
      const nlohmann::json record = runtime::parse_json(
          stored_text != nullptr ? std::string_view(stored_text, static_cast<std::size_t>(size)) : "");
      if (!record.is_discarded()) indexed_.push_back(text_row(rowid, normalise(record)));
    }
    rc = SQLITE_DONE;
  }
  sqlite3_reset(select);
  sqlite3_clear_bindings(select);
  return rc;
}

int NormalisedWriter::write_text() {
  // Every delete first, then every insert: no statement between two inserts whose savepoint would make
  // FTS5 write out what it holds.
  // Deleting from this index ('delete') takes the very texts the row was indexed with.
  const auto put = [](sqlite3_stmt* statement, const TextRow& text) {
    sqlite3_bind_int64(statement, 1, text.rowid);
    bind_text(statement, 2, text.title);
    bind_text(statement, 3, text.lead);
    bind_text(statement, 4, text.body);
    return run(statement);
  };
  int rc = SQLITE_DONE;
  for (const TextRow& text : indexed_) {
    if (rc = put(statements_[kDeleteText], text); rc != SQLITE_DONE) return rc;
  }
  for (const TextRow& text : texts_) {
    if (rc = put(statements_[kInsertText], text); rc != SQLITE_DONE) return rc;
  }
  discard_text();
  return rc;
}

}  // namespace vnawire::sink
