// The SQLite sink's normalised tables (persons, organisations, places, events and their participants,
// quotes, countries, and the full-text index), their schema version and migrations.
#pragma once

#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stages/runtime/status.h"

namespace vnawire::sink {

struct NormalisedRows;  // sink_normalised.h

// PRAGMA user_version of a database this sink has fully set up. 1: the documents table alone (what
// the first sink wrote; 0 on such files); 2: the tables below, filled for every stored document, the
// full-text index keeping its own copy of each text; 3: the same, the index reading its texts from the
// documents' records (view documents_text_source) instead of a copy.
inline constexpr int kSqliteSchemaVersion = 3;

// Brings the file to kSqliteSchemaVersion in one transaction: creates what is missing and fills what
// is new from each stored record (from 1: every table; from 2: the full-text index). A file of a later
// version is refused.
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
  // Call before the documents row of `id` is replaced: the full-text index does not keep the texts it
  // indexed (it reads them from the record, which is about to change), so the ones it holds for the
  // stored record are read now and taken out of it by write_text(). `*stored` tells whether a documents
  // row of `id` was there. SQLITE_DONE, or the failing step's code.
  int before_replacing(const std::string& id, bool* stored);
  // SQLITE_DONE, or the failing step's code (the caller reads sqlite3_errmsg). The full-text row is kept
  // for write_text(): call it before the transaction commits. With `replacing` false (no documents row of
  // `id` was there: before_replacing), the earlier rows are not looked for: the normalised rows of a
  // document are written and taken away only with its documents row.
  int write(const std::string& id, sqlite3_int64 rowid, const nlohmann::json& record, bool replacing = true);
  // Writes the full-text rows write() kept, all at once: FTS5 turns what it holds into an index segment
  // at every statement savepoint, so rows written between the other statements would make a segment
  // (and merges) per document. SQLITE_DONE, or the failing step's code.
  int write_text();
  // Keeps the full-text row of a stored record for write_text(), and nothing else (the migration to 3
  // fills the new index with it).
  void keep_text(sqlite3_int64 rowid, const nlohmann::json& record);
  // Where the kept rows stand, to go back to when a document's writes are rolled back (to a savepoint)
  // after before_replacing() or write() failed half-way.
  struct Mark {
    std::size_t indexed = 0;
  };
  Mark mark() const { return Mark{indexed_.size()}; }
  void back_to(Mark mark) {
    // write() keeps a document's text only once all its rows are written: a failed one kept none, and
    // only what before_replacing() read for it is to be forgotten.
    while (indexed_.size() > mark.indexed) {
      indexed_rowids_.erase(indexed_.back().rowid);
      indexed_.pop_back();
    }
  }
  // Forgets the kept rows (after a rollback: the documents are written again).
  void discard_text() {
    texts_.clear();
    text_of_rowid_.clear();
    indexed_.clear();
    indexed_rowids_.clear();
  }

 private:
  struct TextRow {
    sqlite3_int64 rowid = 0;
    std::optional<std::string> title, lead;
    std::string body;
  };

  static TextRow text_row(sqlite3_int64 rowid, NormalisedRows&& rows);
  void keep(sqlite3_int64 rowid, NormalisedRows&& rows);

  std::vector<TextRow> texts_;  // in the order written, one per rowid (a later write replaces an earlier)
  std::unordered_map<sqlite3_int64, std::size_t> text_of_rowid_;  // where in texts_
  // What the index holds for documents replaced in this transaction (before_replacing), one per rowid.
  std::vector<TextRow> indexed_;
  std::unordered_set<sqlite3_int64> indexed_rowids_;
  sqlite3* db_ = nullptr;
  enum Statement {
    kSelectStored,
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
