// The dedupe log in LMDB: fixed header, fingerprints, id, then the signature's arrays.
#include "stages/dedupe/dedupe_log.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <type_traits>

#include "stages/dedupe/dedupe_band_table.h"

namespace vnawire::dedupe {
namespace {

using Key = std::array<unsigned char, 8>;

Key big_endian(std::uint64_t value) {
  Key key;
  for (int i = 7; i >= 0; --i, value >>= 8) key[static_cast<std::size_t>(i)] = static_cast<unsigned char>(value);
  return key;
}

std::uint64_t from_big_endian(const MDB_val& value) {
  std::uint64_t out = 0;
  const auto* bytes = static_cast<const unsigned char*>(value.mv_data);
  for (std::size_t i = 0; i < 8 && i < value.mv_size; ++i) out = out << 8 | bytes[i];
  return out;
}

MDB_val as_val(Key& key) { return MDB_val{key.size(), key.data()}; }

MDB_val next_key() {
  static const std::string kNext = "next";
  return MDB_val{kNext.size(), const_cast<char*>(kNext.data())};
}

// How a record's signature is stored (Header::signature).
enum SignatureFormat : std::uint8_t {
  kNoSignature = 0,
  kWideBands = 1,    // band keys as 64-bit values: what stores written before 4 December 2026 hold
  kNarrowBands = 2,  // band keys as the 32-bit tags the band table keeps: 128 bytes less per record
};

// The band table keeps a band key's low 32 bits and finds its home from them (dedupe_band_table.h), so
// they are all a record's keys are read back for (indexing it again, removing it): the rest is never
// written, and the log grows by that much less per document (its bytes are what the kernel copies on each
// group commit, the cost that grows at 10^7 stored: docs/dedupe.md).
std::uint32_t narrow_band(std::uint64_t key) { return static_cast<std::uint32_t>(key); }
static_assert(std::is_same_v<NarrowSlot::Key, std::uint32_t>,
              "records keep 32 bits of a band key: a wider band table needs a new log format");

struct Header {
  std::int64_t time;
  std::uint64_t simhash;
  std::uint8_t kind, signature, text_bytes, url_bytes;
  std::uint32_t id_bytes;
  std::uint32_t shingles, numbers, key_numbers, band_keys;
};

}  // namespace

std::size_t encoded_size(const Record& record) {
  std::size_t size = sizeof(Header) + record.text_fingerprint.size() + record.url_fingerprint.size() + record.id.size();
  if (record.signature) {
    const NearSignature& signature = *record.signature;
    size += (signature.shingles.size() + signature.band_keys.size()) * sizeof(std::uint32_t) +
            (signature.numbers.size() + signature.key_numbers.size()) * sizeof(std::uint64_t);
  }
  return size;
}

void encode_into(const Record& record, char* out) {
  const NearSignature empty;
  const NearSignature& signature = record.signature ? *record.signature : empty;
  const Header header{record.time,
                      signature.simhash,
                      static_cast<std::uint8_t>(record.kind),
                      record.signature ? kNarrowBands : kNoSignature,
                      static_cast<std::uint8_t>(record.text_fingerprint.size()),
                      static_cast<std::uint8_t>(record.url_fingerprint.size()),
                      static_cast<std::uint32_t>(record.id.size()),
                      static_cast<std::uint32_t>(signature.shingles.size()),
                      static_cast<std::uint32_t>(signature.numbers.size()),
                      static_cast<std::uint32_t>(signature.key_numbers.size()),
                      static_cast<std::uint32_t>(signature.band_keys.size())};
  const auto put = [&out](const void* data, std::size_t bytes) {
    if (bytes > 0) std::memcpy(out, data, bytes);
    out += bytes;
  };
  put(&header, sizeof header);
  put(record.text_fingerprint.data(), record.text_fingerprint.size());
  put(record.url_fingerprint.data(), record.url_fingerprint.size());
  put(record.id.data(), record.id.size());
  put(signature.shingles.data(), signature.shingles.size() * sizeof(std::uint32_t));
  for (const auto* values : {&signature.numbers, &signature.key_numbers}) {
    put(values->data(), values->size() * sizeof(std::uint64_t));
  }
  for (const std::uint64_t key : signature.band_keys) {
    const std::uint32_t tag = narrow_band(key);
    put(&tag, sizeof tag);
  }
}

std::string encode_record(const Record& record) {
  std::string out(encoded_size(record), '\0');
  encode_into(record, out.data());
  return out;
}

bool decode_record_into(std::string_view bytes, Record& record) {
  Header header;
  if (bytes.size() < sizeof header) return false;
  std::memcpy(&header, bytes.data(), sizeof header);
  const std::size_t strings = std::size_t{header.text_bytes} + header.url_bytes + header.id_bytes;
  if (header.kind > 1 || header.signature > kNarrowBands) return false;
  const std::size_t band_bytes = header.signature == kWideBands ? sizeof(std::uint64_t) : sizeof(std::uint32_t);
  const std::size_t arrays = header.shingles * sizeof(std::uint32_t) + header.band_keys * band_bytes +
                             (std::size_t{header.numbers} + header.key_numbers) * sizeof(std::uint64_t);
  if (bytes.size() != sizeof header + strings + arrays) return false;
  // Valid: from here on every field is written, each into the storage it already has.
  record.time = header.time;
  record.kind = static_cast<RecordKind>(header.kind);
  std::size_t at = sizeof header;
  const auto take = [&](std::string& out, std::size_t n) {
    out.assign(bytes.data() + at, n);
    at += n;
  };
  take(record.text_fingerprint, header.text_bytes);
  take(record.url_fingerprint, header.url_bytes);
  take(record.id, header.id_bytes);
  if (header.signature == kNoSignature) {
    record.signature.reset();
    return true;
  }
  if (!record.signature) record.signature.emplace();
  NearSignature& signature = *record.signature;
  signature.simhash = header.simhash;
  // resize() zeroes only what a vector grows by, and a page's shingles are tens of KB: a record decoded
  // into the one read before (a candidate after another) mostly overwrites what it holds.
  const auto copy = [&](auto& values, std::size_t n) {
    values.resize(n);
    // An empty vector's data() may be null, and memcpy from or to null is undefined even for 0 bytes.
    if (n > 0) std::memcpy(values.data(), bytes.data() + at, n * sizeof(values[0]));
    at += n * sizeof(values[0]);
  };
  copy(signature.shingles, header.shingles);
  copy(signature.numbers, header.numbers);
  copy(signature.key_numbers, header.key_numbers);
  if (header.signature == kWideBands) {
    copy(signature.band_keys, header.band_keys);
  } else {
    signature.band_keys.resize(header.band_keys);
    for (std::uint64_t& key : signature.band_keys) {
      std::uint32_t tag = 0;
      std::memcpy(&tag, bytes.data() + at, sizeof tag);
      key = tag;
      at += sizeof tag;
    }
  }
  return true;
}

std::optional<Record> decode_record(std::string_view bytes) {
  Record record;
  if (!decode_record_into(bytes, record)) return std::nullopt;
  return record;
}

int open_log(MDB_txn* txn, LogTables& tables) {
  int rc = mdb_dbi_open(txn, "log", MDB_CREATE, &tables.records);
  if (rc == 0) rc = mdb_dbi_open(txn, "log_meta", MDB_CREATE, &tables.meta);
  return rc;
}

int check_log_format(MDB_txn* txn, const LogTables& tables, std::uint32_t& format) {
  static const std::string kFormatKey = "format";
  MDB_val key{kFormatKey.size(), const_cast<char*>(kFormatKey.data())}, found{};
  format = 1;
  int rc = mdb_get(txn, tables.meta, &key, &found);
  if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  if (rc == 0) {
    // A value of another size was written by a format this one does not know: newer, so refused.
    if (found.mv_size != sizeof format) {
      format = std::numeric_limits<std::uint32_t>::max();
      return 0;
    }
    std::memcpy(&format, found.mv_data, sizeof format);
  }
  if (format >= kLogFormat) return 0;
  std::uint32_t current = kLogFormat;
  MDB_val value{sizeof current, &current};
  return mdb_put(txn, tables.meta, &key, &value, 0);
}

// The last record's number + 1; "next" in the meta table only keeps the count when expiry has emptied
// the log (it is written at each expiry), so that an append writes nothing but its record.
int next_number(MDB_txn* txn, const LogTables& tables, std::uint64_t& next) {
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, tables.records, &cursor); rc != 0) return rc;
  MDB_val key{}, value{};
  int rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST);
  mdb_cursor_close(cursor);
  next = rc == 0 ? from_big_endian(key) + 1 : 0;
  if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  MDB_val meta_key = next_key(), found{};
  rc = mdb_get(txn, tables.meta, &meta_key, &found);
  if (rc == 0) next = std::max(next, from_big_endian(found));
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int first_number(MDB_txn* txn, const LogTables& tables, std::uint64_t& first) {
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, tables.records, &cursor); rc != 0) return rc;
  MDB_val key{}, value{};
  const int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  mdb_cursor_close(cursor);
  if (rc == MDB_NOTFOUND) return next_number(txn, tables, first);
  if (rc == 0) first = from_big_endian(key);
  return rc;
}

int append_record(MDB_txn* txn, const LogTables& tables, const Record& record, std::uint64_t number) {
  // The in-memory indexes number documents in 32 bits: 4 billion records, a century of a busy feed.
  if (number >= 0xffffffffULL) return MDB_MAP_FULL;
  Key number_key = big_endian(number);
  // Encoded straight into the page LMDB reserves: no copy of the record on the way.
  MDB_val key = as_val(number_key), value{encoded_size(record), nullptr};
  if (int rc = mdb_put(txn, tables.records, &key, &value, MDB_APPEND | MDB_RESERVE); rc != 0) return rc;
  encode_into(record, static_cast<char*>(value.mv_data));
  return 0;
}

int read_record(MDB_txn* txn, const LogTables& tables, std::uint64_t number, Record& record) {
  Key number_key = big_endian(number);
  MDB_val key = as_val(number_key), found{};
  if (int rc = mdb_get(txn, tables.records, &key, &found); rc != 0) return rc;
  return decode_record_into(std::string_view(static_cast<const char*>(found.mv_data), found.mv_size), record) ? 0
                                                                                                              : EINVAL;
}

int first_record_from(MDB_cursor* cursor, std::uint64_t from, std::uint64_t& number, MDB_val& value, bool next) {
  MDB_val key{};
  Key start = big_endian(from);
  if (!next) key = as_val(start);
  const int rc = mdb_cursor_get(cursor, &key, &value, next ? MDB_NEXT : MDB_SET_RANGE);
  if (rc == 0) number = from_big_endian(key);
  return rc;
}

int expire_records(MDB_txn* txn, const LogTables& tables, std::int64_t oldest_time, int limit, int& removed) {
  removed = 0;
  std::uint64_t next = 0;
  if (int rc = next_number(txn, tables, next); rc != 0) return rc;
  Key following = big_endian(next);
  MDB_val meta_key = next_key(), meta_value = as_val(following);
  if (int rc = mdb_put(txn, tables.meta, &meta_key, &meta_value, 0); rc != 0) return rc;
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, tables.records, &cursor); rc != 0) return rc;
  MDB_val key{}, value{};
  int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  while (rc == 0 && removed < limit) {
    Header header;
    if (value.mv_size >= sizeof header) {
      std::memcpy(&header, value.mv_data, sizeof header);
      if (header.time >= oldest_time) break;
    }
    // Unreadable records go too: they decide nothing and would hold expiry up forever.
    if (rc = mdb_cursor_del(cursor, 0); rc != 0) break;
    ++removed;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  }
  mdb_cursor_close(cursor);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

}  // namespace vnawire::dedupe
