// The dedupe log: every recorded document in arrival order, in LMDB. It is the store's only durable
// state; the indexes that decide (id, text, URL, bands) are built from it in memory (dedupe_index.h).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <string>

#include "stages/dedupe/dedupe_near.h"

namespace vnawire::dedupe {

enum class RecordKind : std::uint8_t {
  Version = 0,   // unique or update: the id's current text, the first of its text and URL
  NearCopy = 1,  // a near duplicate: kept for its bands only, so that a re-edit of the copy is found
};

struct Record {
  std::int64_t time = 0;  // seconds since the epoch: expiry goes by it
  RecordKind kind = RecordKind::Version;
  std::string text_fingerprint;  // fingerprint() of the normalised text (32 hex digits)
  std::string url_fingerprint;   // fingerprint() of the URL, or empty
  std::string id;
  std::optional<NearSignature> signature;  // absent when near-duplicate detection is off
};

std::size_t encoded_size(const Record& record);
void encode_into(const Record& record, char* out);  // writes encoded_size(record) bytes
std::string encode_record(const Record& record);
std::optional<Record> decode_record(std::string_view bytes);
// The same into `record`, reusing its strings' and vectors' storage; false, and `record` unchanged, when
// `bytes` is not a record.
bool decode_record_into(std::string_view bytes, Record& record);

// The log's tables: number (8 bytes big-endian, so LMDB keeps them in order) -> record; "next" -> the
// number after the last record, written when expiry may empty the log.
struct LogTables {
  MDB_dbi records = 0;
  MDB_dbi meta = 0;
};

int open_log(MDB_txn* txn, LogTables& tables);

// The log's format, "format" in the meta table (absent in logs written before 4 December 2026, which are
// format 1). 2: records keep their band keys as 32-bit tags; the format 1 records a log still holds stay
// readable. Binaries from before format 2 do not look at it: they would skip format 2 records as
// unreadable, so a store must not go back to them (docs/dedupe.md).
inline constexpr std::uint32_t kLogFormat = 2;
// In a write transaction: `format` receives the log's format, and a log of an older one is marked as
// kLogFormat from now on (it gets records of that format). A newer one (or a value this one cannot read) is
// left as it is: the caller refuses it.
int check_log_format(MDB_txn* txn, const LogTables& tables, std::uint32_t& format);
// Appends `record` as `number`, which must be next_number()'s answer in this transaction.
int append_record(MDB_txn* txn, const LogTables& tables, const Record& record, std::uint64_t number);
// MDB_NOTFOUND when the number is not in the log (expired, or never committed); EINVAL when unreadable.
int read_record(MDB_txn* txn, const LogTables& tables, std::uint64_t number, Record& record);
// The number the next record gets, and the oldest one kept (`next` when the log is empty).
int next_number(MDB_txn* txn, const LogTables& tables, std::uint64_t& next);
int first_number(MDB_txn* txn, const LogTables& tables, std::uint64_t& first);
// Calls `visit(number, record)` for each record from `from` on, in order; stops at the first non-zero it returns.
template <typename Visit>
int for_each_record(MDB_txn* txn, const LogTables& tables, std::uint64_t from, Visit visit);
// Removes up to `limit` records older than `oldest_time`, oldest first; counts them in `removed`.
int expire_records(MDB_txn* txn, const LogTables& tables, std::int64_t oldest_time, int limit, int& removed);

// Implementation detail of for_each_record.
int first_record_from(MDB_cursor* cursor, std::uint64_t from, std::uint64_t& number, MDB_val& value, bool next);

template <typename Visit>
int for_each_record(MDB_txn* txn, const LogTables& tables, std::uint64_t from, Visit visit) {
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, tables.records, &cursor); rc != 0) return rc;
  std::uint64_t number = 0;
  MDB_val value{};
  int rc = first_record_from(cursor, from, number, value, false);
  for (; rc == 0; rc = first_record_from(cursor, from, number, value, true)) {
    const std::optional<Record> record =
        decode_record(std::string_view(static_cast<const char*>(value.mv_data), value.mv_size));
    if (!record) continue;  // a damaged record decides nothing; the others still count
    if (rc = visit(number, *record); rc != 0) break;
  }
  mdb_cursor_close(cursor);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

}  // namespace vnawire::dedupe
