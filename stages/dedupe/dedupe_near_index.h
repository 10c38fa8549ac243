// The near-duplicate index: band -> document numbers in the band table, number -> signature and
// id -> number in LMDB.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <string>

#include "stages/dedupe/dedupe_band_table.h"
#include "stages/dedupe/dedupe_near.h"

namespace vnawire::dedupe {

// The tables, inside the fingerprint store's environment so that one transaction decides and records.
struct NearTables {
  MDB_dbi docs = 0;  // number (8 bytes, big-endian: oldest first) -> time, signature, id
  MDB_dbi ids = 0;   // fingerprint(id) -> number of its indexed version
  MDB_dbi meta = 0;  // "next" -> the next number
  BandTable* bands = nullptr;
};

struct NearMatch {
  std::string of;
  double similarity = 0;
};

// Opens (creating) the tables in a write transaction.
int open_near_tables(MDB_txn* txn, NearTables& tables);

// Indexes the bands of the stored documents numbered from `from` on again: what the band table's
// snapshot lacks, or what another replica sharing the store added. Counts them in `indexed`.
int reindex_near_documents(MDB_txn* txn, const NearTables& tables, std::uint64_t from, int per_key,
                           std::uint64_t& indexed);

// The number the next indexed document gets, and the oldest stored one (`next` when none is).
int next_near_number(MDB_txn* txn, const NearTables& tables, std::uint64_t& next);
int first_near_number(MDB_txn* txn, const NearTables& tables, std::uint64_t& first);

// The most similar indexed document of another id within the window, if one passes the check. Reads
// at most bucket_scan numbers per band and verifies at most max_candidates, whatever the index size.
int find_near_duplicate(MDB_txn* txn, const NearTables& tables, const std::string& id, const NearSignature& signature,
                        const NearOptions& options, std::int64_t oldest_time, std::optional<NearMatch>& match);

// Indexes the document under its id, replacing the id's earlier version; a replay of the same version
// leaves the index as it is.
int index_near_document(MDB_txn* txn, const NearTables& tables, const std::string& id, const NearSignature& signature,
                        const NearOptions& options, std::int64_t time);

// Removes up to `limit` documents older than oldest_time, oldest first; counts them in `removed`.
int expire_near_documents(MDB_txn* txn, const NearTables& tables, std::int64_t oldest_time, int limit, int& removed);

}  // namespace vnawire::dedupe
