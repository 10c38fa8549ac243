// The SQLite sink's normalised tables (persons, organisations, places, events and their participants,
// quotes, countries, and the full-text index), their schema version and migrations.
#pragma once

#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "stages/runtime/status.h"

namespace vnawire::sink {

// PRAGMA user_version of a database this sink has fully set up. 1: the documents table alone (what
// the first sink wrote; 0 on such files); 2: the tables below, filled for every stored document.
inline constexpr int kSqliteSchemaVersion = 2;

// Brings the file to kSqliteSchemaVersion in one transaction: creates what is missing and, from 1,
// fills the new tables from each stored record. A file of a later version is refused.
runtime::Status migrate_sqlite(sqlite3* db);

// Writes one document's rows into the normalised tables, replacing what an earlier version of it
// left: idempotent, so a replay changes nothing. `rowid` is the documents row's (the FTS row's key).
class NormalisedWriter {
 public:
  NormalisedWriter() = default;
  ~NormalisedWriter();
  NormalisedWriter(const NormalisedWriter&) = delete;
  NormalisedWriter& operator=(const NormalisedWriter&) = delete;

  runtime::Status prepare(sqlite3* db);
  // Finalizes the statements (also done by the destructor): call it before closing the connection.
  void finalize();
  // SQLITE_DONE, or the failing step's code (the caller reads sqlite3_errmsg). The full-text row is kept
  // for write_text(): call it before the transaction commits.
  int write(const std::string& id, sqlite3_int64 rowid, const nlohmann::json& record);
  // Writes the full-text rows write() kept, all at once: FTS5 turns what it holds into an index segment
  // at every statement savepoint, so rows written between the other statements would make a segment
  // (and merges) per document. SQLITE_DONE, or the failing step's code.
  int write_text();
  // Forgets the kept rows (after a rollback: the documents are written again).
  void discard_text() {
    texts_.clear();
    text_of_rowid_.clear();
  }

 private:
  struct TextRow {
    sqlite3_int64 rowid = 0;
    std::optional<std::string> title, lead;
    std::string body;
  };
  std::vector<TextRow> texts_;  // in the order written, one per rowid (a later write replaces an earlier)
  std::unordered_map<sqlite3_int64, std::size_t> text_of_rowid_;  // where in texts_
  sqlite3* db_ = nullptr;
  enum Statement {
    kDeletePersons,
    kDeleteOrganisations,
    kDeletePlaces,
    kDeleteEvents,
    kDeleteParticipants,
    kDeleteQuotes,
    kDeleteCountries,
    kDeleteText,
    kInsertPerson,
    kInsertOrganisation,
    kInsertPlace,
    kInsertEvent,
    kInsertParticipant,
    kInsertQuote,
    kInsertCountry,
    kInsertText,
    kUpsertPerson,
    kStatements
  };
  sqlite3_stmt* statements_[kStatements] = {};
};

}  // namespace vnawire::sink
