// The PostgreSQL sink's tables (the SQLite sink's, column for column, with PostgreSQL types and a
// tsvector index for the full text), their schema version, and the SQL that writes a batch.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "stages/runtime/status.h"
#include "stages/sink/sink_normalised.h"

namespace vnawire::sink {

// The version in table vnawire_schema of a database this sink has fully set up.
inline constexpr int kPostgresSchemaVersion = 1;

// Creates what is missing, in one transaction under an advisory lock (replicas start together); a
// database of a later version is refused. Throws pqxx errors when the server cannot be reached.
runtime::Status migrate_postgres(pqxx::connection& connection);

// A document waiting to be written: its documents row and the record's normalised rows.
struct PostgresRow {
  DocumentRow document;
  NormalisedRows rows;
};

// The statements that write `batch` (one round trip per group of rows with distinct ids): upserts of
// the documents rows (a new version only when the record changed), then each document's rows in the
// other tables replaced by the record's. Idempotent, so a replay or a batch written twice changes nothing.
std::vector<std::string> batch_sql(pqxx::connection& connection, const std::vector<const PostgresRow*>& batch);

}  // namespace vnawire::sink
