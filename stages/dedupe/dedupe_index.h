// What decides, in memory: id -> its current version, text -> its first record, URL -> its first record,
// id -> its near-indexed record, and the near-duplicate bands; built from the log and snapshotted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "stages/dedupe/dedupe_band_table.h"
#include "stages/dedupe/dedupe_log.h"
#include "stages/runtime/status.h"

namespace vnawire::dedupe {

// Every lookup answers record numbers: the caller reads the record and checks it (a 64-bit key may,
// once in 10^19 pairs, name another document; a number may belong to a record never committed).
class DedupeIndex {
 public:
  // Reads an earlier record, for an update that replaces its bands: 0, or an LMDB error.
  using ReadRecord = std::function<int(std::uint64_t number, Record& record)>;

  std::vector<std::uint32_t> version_of(const std::string& id) const { return find(ids_, id_key(id)); }
  std::vector<std::uint32_t> near_record_of(const std::string& id) const { return find(near_ids_, id_key(id)); }
  std::vector<std::uint32_t> first_with_text(const std::string& fingerprint) const;
  std::vector<std::uint32_t> first_with_url(const std::string& fingerprint) const;
  const BandTable& bands() const { return bands_; }

  // Starts the memory reads of one document's lookups (id, text, URL, bands) at once, so that their
  // cache misses overlap each other and the transaction's start instead of following one another.
  void prefetch(const std::string& id, const std::string& text_fingerprint, const std::string& url_fingerprint,
                const std::vector<std::uint64_t>* band_keys) const;

  // Indexes a committed record, as the decision that wrote it did.
  int apply(std::uint64_t number, const Record& record, const ReadRecord& read, int per_band);

  // Records numbered below `first` are gone from the log.
  void expire_below(std::uint64_t first);
  std::uint32_t indexed_next() const { return bands_.indexed_next(); }
  void set_indexed_next(std::uint64_t next);
  void clear();

  // One snapshot file per table beside `base` (base.ids, base.bands...): all or nothing on load.
  runtime::Status save(const std::filesystem::path& base);
  bool load(const std::filesystem::path& base);

  std::uint64_t memory_bytes() const;

 private:
  static std::uint64_t id_key(const std::string& id);
  static std::vector<std::uint32_t> find(const ExactTable& table, std::uint64_t key);
  // Calls `visit` with each table, the exact ones and the bands.
  template <typename Visit>
  void for_each_table(Visit visit) {
    for (ExactTable* table : {&ids_, &near_ids_, &texts_, &urls_}) visit(*table);
    visit(bands_);
  }

  ExactTable ids_, near_ids_, texts_, urls_;
  BandTable bands_;
};

}  // namespace vnawire::dedupe
