// The in-memory indexes: one hash table each, numbers checked against the log by the caller.
#include "stages/dedupe/dedupe_index.h"

#include <xxhash.h>

#include <charconv>

namespace vnawire::dedupe {
namespace {

// The first 16 hex digits of a fingerprint() are 64 bits of XXH3-128: enough to find the record.
std::uint64_t fingerprint_key(const std::string& fingerprint) {
  std::uint64_t key = 0;
  const char* end = fingerprint.data() + std::min<std::size_t>(16, fingerprint.size());
  std::from_chars(fingerprint.data(), end, key, 16);
  return key;
}

}  // namespace

std::uint64_t DedupeIndex::id_key(const std::string& id) { return XXH3_64bits(id.data(), id.size()); }

std::vector<std::uint32_t> DedupeIndex::find(const ExactTable& table, std::uint64_t key) {
  std::vector<std::uint32_t> numbers;
  table.lookup({&key, 1}, 4, numbers);
  return numbers;
}

std::vector<std::uint32_t> DedupeIndex::first_with_text(const std::string& fingerprint) const {
  return find(texts_, fingerprint_key(fingerprint));
}

std::vector<std::uint32_t> DedupeIndex::first_with_url(const std::string& fingerprint) const {
  return find(urls_, fingerprint_key(fingerprint));
}

void DedupeIndex::prefetch(const std::string& id, const std::string& text_fingerprint,
                           const std::string& url_fingerprint, const std::vector<std::uint64_t>* band_keys) const {
  const std::uint64_t key = id_key(id);
  ids_.prefetch(key);
  near_ids_.prefetch(key);
  texts_.prefetch(fingerprint_key(text_fingerprint));
  if (!url_fingerprint.empty()) urls_.prefetch(fingerprint_key(url_fingerprint));
  if (band_keys != nullptr) {
    for (std::uint64_t band : *band_keys) bands_.prefetch(band);
  }
}

int DedupeIndex::apply(std::uint64_t number, const Record& record, const ReadRecord& read, int per_band) {
  const auto n = static_cast<std::uint32_t>(number);
  const std::uint64_t id = id_key(record.id);
  if (record.kind == RecordKind::Version) {
    ids_.insert({&id, 1}, n, 1);  // one number per id: the newest version replaces the older
    // The first record of a text or URL stays its original: later ones are only added if it expired.
    const std::uint64_t text = fingerprint_key(record.text_fingerprint);
    if (find(texts_, text).empty()) texts_.insert({&text, 1}, n, 1);
    if (!record.url_fingerprint.empty()) {
      const std::uint64_t url = fingerprint_key(record.url_fingerprint);
      if (find(urls_, url).empty()) urls_.insert({&url, 1}, n, 1);
    }
  }
  if (record.signature && !record.signature->band_keys.empty()) {
    // The id's earlier near-indexed version stops being a candidate: only its current text is.
    for (std::uint32_t earlier : find(near_ids_, id)) {
      Record previous;
      const int rc = read(earlier, previous);
      if (rc == MDB_NOTFOUND || rc == EINVAL) continue;
      if (rc != 0) return rc;
      if (previous.id == record.id && previous.signature) bands_.remove(previous.signature->band_keys, earlier);
    }
    near_ids_.insert({&id, 1}, n, 1);
    bands_.insert(record.signature->band_keys, n, per_band);
  }
  set_indexed_next(number + 1);
  return 0;
}

void DedupeIndex::expire_below(std::uint64_t first) {
  for_each_table([&](auto& table) { table.set_first_live(static_cast<std::uint32_t>(first)); });
}

void DedupeIndex::set_indexed_next(std::uint64_t next) {
  for_each_table([&](auto& table) { table.set_indexed_next(static_cast<std::uint32_t>(next)); });
}

void DedupeIndex::clear() {
  for_each_table([](auto& table) { table.clear(); });
}

namespace {
const char* const kNames[] = {".ids", ".near_ids", ".texts", ".urls", ".bands"};
}

runtime::Status DedupeIndex::save(const std::filesystem::path& base) {
  runtime::Status status;
  int i = 0;
  for_each_table([&](auto& table) {
    std::filesystem::path file = base;
    file += kNames[i++];
    if (status.ok()) status = table.save(file);
  });
  return status;
}

bool DedupeIndex::load(const std::filesystem::path& base) {
  bool ok = true;
  int i = 0;
  for_each_table([&](auto& table) {
    std::filesystem::path file = base;
    file += kNames[i++];
    ok = ok && table.load(file) && table.indexed_next() == ids_.indexed_next() &&
         table.first_live() == ids_.first_live();
  });
  if (!ok) clear();
  return ok;
}

std::uint64_t DedupeIndex::memory_bytes() const {
  std::uint64_t bytes = bands_.memory_bytes();
  for (const ExactTable* table : {&ids_, &near_ids_, &texts_, &urls_}) bytes += table->memory_bytes();
  return bytes;
}

}  // namespace vnawire::dedupe
