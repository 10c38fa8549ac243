// The near-duplicate index in LMDB: bucket -> document numbers, number -> signature, id -> number.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <string>

#include "stages/dedupe/dedupe_near.h"

namespace vnawire::dedupe {

// The tables, inside the fingerprint store's environment so that one transaction decides and records.
struct NearTables {
  MDB_dbi docs = 0;     // number (8 bytes, big-endian: oldest first) -> time, signature, id
  MDB_dbi buckets = 0;  // band key -> numbers (sorted duplicates, newest last)
  MDB_dbi ids = 0;      // fingerprint(id) -> number of its indexed version
  MDB_dbi meta = 0;     // "next" -> the next number
};

struct NearMatch {
  std::string of;
  double similarity = 0;
};

// Opens (creating) the tables in a write transaction.
int open_near_tables(MDB_txn* txn, NearTables& tables);

// The most similar indexed document of another id within the window, if one passes the check. Reads
// at most bucket_scan numbers per band and verifies at most max_candidates, whatever the index size.
int find_near_duplicate(MDB_txn* txn, const NearTables& tables, const std::string& id, const NearSignature& signature,
                        const NearOptions& options, std::int64_t oldest_time, std::optional<NearMatch>& match);

// Indexes the document under its id, replacing the id's earlier version; a replay of the same version
// leaves the index as it is.
int index_near_document(MDB_txn* txn, const NearTables& tables, const std::string& id, const NearSignature& signature,
                        std::int64_t time);

// Removes up to `limit` documents older than oldest_time, oldest first; counts them in `removed`.
int expire_near_documents(MDB_txn* txn, const NearTables& tables, std::int64_t oldest_time, int limit, int& removed);

}  // namespace vnawire::dedupe
