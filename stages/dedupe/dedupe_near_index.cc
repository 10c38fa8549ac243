// The near-duplicate index: bounded band reads, verification on stored shingles, expiry oldest first.
#include "stages/dedupe/dedupe_near_index.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "stages/dedupe/dedupe_normalize.h"

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

// A stored document, copied out of the transaction's memory (LMDB's pointers die with the transaction).
struct StoredDocument {
  std::int64_t time = 0;
  NearSignature signature;
  std::string id;
};

struct Header {
  std::int64_t time;
  std::uint64_t simhash;
  std::uint32_t shingles, numbers, key_numbers, band_keys;
};

std::string encode(const NearSignature& signature, const std::string& id, std::int64_t time) {
  const Header header{time,
                      signature.simhash,
                      static_cast<std::uint32_t>(signature.shingles.size()),
                      static_cast<std::uint32_t>(signature.numbers.size()),
                      static_cast<std::uint32_t>(signature.key_numbers.size()),
                      static_cast<std::uint32_t>(signature.band_keys.size())};
  std::string out(sizeof header, '\0');
  std::memcpy(out.data(), &header, sizeof header);
  out.append(reinterpret_cast<const char*>(signature.shingles.data()), signature.shingles.size() * sizeof(std::uint32_t));
  for (const auto* values : {&signature.numbers, &signature.key_numbers, &signature.band_keys}) {
    out.append(reinterpret_cast<const char*>(values->data()), values->size() * sizeof(std::uint64_t));
  }
  return out + id;
}

std::optional<StoredDocument> decode(const MDB_val& value) {
  const auto* bytes = static_cast<const char*>(value.mv_data);
  Header header;
  if (value.mv_size < sizeof header) return std::nullopt;
  std::memcpy(&header, bytes, sizeof header);
  const std::size_t words = std::size_t{header.numbers} + header.key_numbers + header.band_keys;
  if (value.mv_size < sizeof header + header.shingles * sizeof(std::uint32_t) + words * sizeof(std::uint64_t))
    return std::nullopt;
  StoredDocument document;
  document.time = header.time;
  document.signature.simhash = header.simhash;
  const char* at = bytes + sizeof header;
  document.signature.shingles.resize(header.shingles);
  std::memcpy(document.signature.shingles.data(), at, header.shingles * sizeof(std::uint32_t));
  at += header.shingles * sizeof(std::uint32_t);
  for (auto [values, n] : {std::pair{&document.signature.numbers, header.numbers},
                           std::pair{&document.signature.key_numbers, header.key_numbers},
                           std::pair{&document.signature.band_keys, header.band_keys}}) {
    values->resize(n);
    std::memcpy(values->data(), at, n * sizeof(std::uint64_t));
    at += n * sizeof(std::uint64_t);
  }
  document.id.assign(at, bytes + value.mv_size);
  return document;
}

int read_document(MDB_txn* txn, const NearTables& tables, std::uint64_t number, std::optional<StoredDocument>& out) {
  Key key = big_endian(number);
  MDB_val key_val = as_val(key), found{};
  const int rc = mdb_get(txn, tables.docs, &key_val, &found);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc == 0) out = decode(found);
  return rc;
}

// Removes a document; its band slots too when it is not the oldest (expiry moves first_live past it).
int remove_document(MDB_txn* txn, const NearTables& tables, std::uint64_t number, bool remove_bands) {
  std::optional<StoredDocument> document;
  if (int rc = read_document(txn, tables, number, document); rc != 0 || !document) return rc;
  if (remove_bands) tables.bands->remove(document->signature.band_keys, static_cast<std::uint32_t>(number));
  Key number_key = big_endian(number);
  MDB_val key = as_val(number_key);
  if (int rc = mdb_del(txn, tables.docs, &key, nullptr); rc != 0) return rc;
  const std::string id_key_text = fingerprint(document->id);
  MDB_val id_key{id_key_text.size(), const_cast<char*>(id_key_text.data())}, found{};
  int rc = mdb_get(txn, tables.ids, &id_key, &found);
  if (rc == 0 && from_big_endian(found) == number) rc = mdb_del(txn, tables.ids, &id_key, nullptr);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

MDB_val meta_next_key() {
  static const std::string kNext = "next";
  return MDB_val{kNext.size(), const_cast<char*>(kNext.data())};
}

}  // namespace

int next_near_number(MDB_txn* txn, const NearTables& tables, std::uint64_t& next) {
  MDB_val key = meta_next_key(), found{};
  next = 0;
  const int rc = mdb_get(txn, tables.meta, &key, &found);
  if (rc == 0) next = from_big_endian(found);
  if (next >= std::uint64_t{0xffffffff}) return MDB_MAP_FULL;  // the band table numbers in 32 bits
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int reindex_near_documents(MDB_txn* txn, const NearTables& tables, std::uint64_t from, int per_key,
                           std::uint64_t& indexed) {
  indexed = 0;
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, tables.docs, &cursor); rc != 0) return rc;
  Key start = big_endian(from);
  MDB_val key = as_val(start), value{};
  int rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
  for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    const std::optional<StoredDocument> document = decode(value);
    if (!document) continue;
    tables.bands->insert(document->signature.band_keys, static_cast<std::uint32_t>(from_big_endian(key)), per_key);
    ++indexed;
  }
  mdb_cursor_close(cursor);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

int first_near_number(MDB_txn* txn, const NearTables& tables, std::uint64_t& first) {
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, tables.docs, &cursor); rc != 0) return rc;
  MDB_val key{}, value{};
  int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  mdb_cursor_close(cursor);
  if (rc == MDB_NOTFOUND) return next_near_number(txn, tables, first);
  if (rc == 0) first = from_big_endian(key);
  return rc;
}

int open_near_tables(MDB_txn* txn, NearTables& tables) {
  int rc = mdb_dbi_open(txn, "near_docs", MDB_CREATE, &tables.docs);
  if (rc == 0) rc = mdb_dbi_open(txn, "near_ids", MDB_CREATE, &tables.ids);
  if (rc == 0) rc = mdb_dbi_open(txn, "near_meta", MDB_CREATE, &tables.meta);
  return rc;
}

int find_near_duplicate(MDB_txn* txn, const NearTables& tables, const std::string& id, const NearSignature& signature,
                        const NearOptions& options, std::int64_t oldest_time, std::optional<NearMatch>& match) {
  std::vector<std::uint32_t> numbers;
  numbers.reserve(signature.band_keys.size() * 2);
  tables.bands->lookup(signature.band_keys, options.bucket_scan, numbers);
  std::sort(numbers.begin(), numbers.end());
  std::vector<std::pair<int, std::uint64_t>> ranked;  // bands shared, number
  for (std::size_t i = 0; i < numbers.size();) {
    std::size_t j = i;
    while (j < numbers.size() && numbers[j] == numbers[i]) ++j;
    ranked.emplace_back(static_cast<int>(j - i), numbers[i]);
    i = j;
  }
  int rc = 0;
  // Most shared bands first (the best estimate of similarity), then the oldest: copies point to the original.
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  if (ranked.size() > static_cast<std::size_t>(options.max_candidates))
    ranked.resize(static_cast<std::size_t>(options.max_candidates));
  for (const auto& [bands, number] : ranked) {
    std::optional<StoredDocument> candidate;
    if (rc = read_document(txn, tables, number, candidate); rc != 0) return rc;
    if (!candidate || candidate->id == id || candidate->time < oldest_time) continue;
    const double similarity = near_similarity(signature, candidate->signature, options);
    if (similarity > 0 && (!match || similarity > match->similarity)) match = NearMatch{candidate->id, similarity};
  }
  return 0;
}

int index_near_document(MDB_txn* txn, const NearTables& tables, const std::string& id, const NearSignature& signature,
                        const NearOptions& options, std::int64_t time) {
  const std::string id_key_text = fingerprint(id);
  MDB_val id_key{id_key_text.size(), const_cast<char*>(id_key_text.data())}, found{};
  int rc = mdb_get(txn, tables.ids, &id_key, &found);
  if (rc == 0) {
    const std::uint64_t earlier = from_big_endian(found);
    std::optional<StoredDocument> stored;
    if (rc = read_document(txn, tables, earlier, stored); rc != 0) return rc;
    if (stored && stored->signature.shingles == signature.shingles) return 0;  // a replay
    if (rc = remove_document(txn, tables, earlier, true); rc != 0) return rc;
  } else if (rc != MDB_NOTFOUND) {
    return rc;
  }
  std::uint64_t number = 0;
  if (rc = next_near_number(txn, tables, number); rc != 0) return rc;
  MDB_val next_key = meta_next_key();
  Key number_key = big_endian(number), next = big_endian(number + 1);
  MDB_val next_val = as_val(next);
  if (rc = mdb_put(txn, tables.meta, &next_key, &next_val, 0); rc != 0) return rc;
  const std::string record = encode(signature, id, time);
  MDB_val key = as_val(number_key), value{record.size(), const_cast<char*>(record.data())};
  if (rc = mdb_put(txn, tables.docs, &key, &value, MDB_APPEND); rc != 0) return rc;
  value = as_val(number_key);
  if (rc = mdb_put(txn, tables.ids, &id_key, &value, 0); rc != 0) return rc;
  // Last: a failure above leaves no slot pointing at a number the aborted transaction gives out again.
  tables.bands->insert(signature.band_keys, static_cast<std::uint32_t>(number), options.bucket_scan);
  tables.bands->set_indexed_next(static_cast<std::uint32_t>(number + 1));
  return 0;
}

int expire_near_documents(MDB_txn* txn, const NearTables& tables, std::int64_t oldest_time, int limit, int& removed) {
  removed = 0;
  while (removed < limit) {
    MDB_cursor* cursor = nullptr;
    if (int rc = mdb_cursor_open(txn, tables.docs, &cursor); rc != 0) return rc;
    MDB_val key{}, value{};
    int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    std::uint64_t number = 0;
    bool expired = false;
    if (rc == 0) {
      number = from_big_endian(key);
      Header header;
      expired = value.mv_size >= sizeof header &&
                (std::memcpy(&header, value.mv_data, sizeof header), header.time < oldest_time);
    }
    mdb_cursor_close(cursor);
    if (rc == MDB_NOTFOUND || (rc == 0 && !expired)) return 0;
    if (rc != 0) return rc;
    if (rc = remove_document(txn, tables, number, false); rc != 0) return rc;
    tables.bands->set_first_live(static_cast<std::uint32_t>(number + 1));
    ++removed;
  }
  return 0;
}

}  // namespace vnawire::dedupe
