// The in-memory indexes: key -> document numbers, an open-addressing hash table in the process's memory,
// so that a lookup or an insert costs a few cache lines whatever the index size. Two slot widths: the
// exact indexes (id, text, URL) keep whole 64-bit keys, the near-duplicate bands a 32-bit tag.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <span>
#include <vector>

#include "stages/runtime/status.h"

namespace vnawire::dedupe {

// Why not LMDB, which keeps the rest of the store: 64 band entries per document made 64 B-tree inserts
// into sorted duplicates, ~240 µs per document at 10^4 stored and growing with the tree. Why not a
// shared file mapping: the kernel's dirty-page tracking faults on the first write to each page after
// every write-back, and 64 random pages per document made that the main cost (docs/dedupe.md).
//
// So an entry is one slot (the key, the document number) in anonymous memory, found by linear probing.
// The table is a cache of the store: every stored signature carries its band keys, so whatever the table
// lacks (after a crash, or what another replica added) is indexed again from the store; a snapshot written
// at close and from time to time keeps a restart from reading them all.

// A whole 64-bit key: the exact indexes keep one number per key (an id's newest version replaces the
// older), so two keys must never be taken for one.
struct WideSlot {
  using Key = std::uint64_t;
  static constexpr char kMagic[8] = {'V', 'N', 'W', 'B', 'A', 'N', 'D', '3'};
  Key key;              // 0: empty (a key of 0 is stored as 1)
  std::uint32_t value;  // document number + 1; 0: removed (probing goes on past it)
  std::uint32_t unused;
};

// The key's low 32 bits: half the memory, which is what the cost per document at 10^7 stored depends on
// (32 bands a document make the band table nine tenths of the memory). At 10^7 documents a tag matches
// another key's on ~7 % of lookups, but a candidate must share two bands with the document and is
// verified on its shingles, so a chance match costs a count, not a read. Tables stop growing at 2^32
// slots (10^8 documents), where the tag is all home.
struct NarrowSlot {
  using Key = std::uint32_t;
  static constexpr char kMagic[8] = {'V', 'N', 'W', 'B', 'N', 'D', 'T', '1'};
  Key key;              // 0: empty (a tag of 0 is stored as 1)
  std::uint32_t value;  // document number + 1; 0: removed
};

// A table being faulted in, slice by slice, by a background thread and (past 3/4 full) by the documents.
struct Preparation {
  char* base = nullptr;
  std::uint64_t bytes = 0;
  std::atomic<std::uint64_t> next{0};  // offset of the next slice to claim
  std::atomic<std::uint64_t> done{0};  // bytes faulted in
  // Claims the next `slice` bytes and faults them in; false when none are left to claim.
  bool fault_in(std::uint64_t slice);
  bool ready() const { return done.load(std::memory_order_acquire) == bytes; }
};

template <typename Slot>
class HashTable {
 public:
  HashTable() = default;
  ~HashTable();
  HashTable(const HashTable&) = delete;
  HashTable& operator=(const HashTable&) = delete;

  // Empties the table, as if new.
  void clear();

  // Reads a snapshot; false (and an empty table) when it is missing, damaged or from another version.
  bool load(const std::filesystem::path& file);
  // Writes a snapshot: a temporary file, synced, renamed over the old one.
  runtime::Status save(const std::filesystem::path& file);

  // Document numbers sharing each key, at most `per_key` (the newest) per key, expired ones left out;
  // one entry per shared key, so that a number's count is the bands it shares. With narrow slots a key
  // also finds the numbers of keys sharing its tag: the caller verifies.
  void lookup(std::span<const std::uint64_t> keys, int per_key, std::vector<std::uint32_t>& numbers) const;

  // Asks the memory for the key's home slot, so that a lookup soon after finds it in the cache.
  void prefetch(std::uint64_t key) const;

  // Indexes `number` under each key. A key already holding `per_key` numbers gives up its oldest, so that
  // a phrase common to thousands of texts never makes a long chain. Grows the table when it fills.
  void insert(std::span<const std::uint64_t> keys, std::uint32_t number, int per_key);
  void remove(std::span<const std::uint64_t> keys, std::uint32_t number);

  // Numbers below this are expired: their slots are free for reuse and skipped by lookups.
  void set_first_live(std::uint32_t number);
  std::uint32_t first_live() const { return first_live_; }

  // Every document numbered below this is indexed (the caller's bookkeeping, kept in snapshots).
  void set_indexed_next(std::uint32_t next) { indexed_next_ = next; }
  std::uint32_t indexed_next() const { return indexed_next_; }

  std::uint64_t capacity() const { return table_.capacity(); }
  std::uint64_t used_slots() const { return table_.used; }  // live, expired and removed: what probing walks
  std::uint64_t memory_bytes() const {
    return (table_.capacity() + draining_.capacity()) * sizeof(Slot) + (preparing_ ? preparing_->bytes : 0);
  }

 private:
  using Key = typename Slot::Key;
  static Key stored_key(std::uint64_t key) {
    const auto stored = static_cast<Key>(key);
    return stored == 0 ? 1 : stored;
  }
  struct Table {
    Slot* slots = nullptr;
    std::uint64_t mask = 0;
    std::uint64_t used = 0;
    std::uint64_t capacity() const { return slots == nullptr ? 0 : mask + 1; }
  };

  // Large tables get huge pages, all faulted in at once (by the thread that prepares them).
  static Table allocate(std::uint64_t capacity);
  static void release(Table& table);
  // Unmaps `table` on another thread: freeing gigabytes takes longer than a document may wait.
  void retire(Table& table);
  // Waits for the table being prepared, if any, and frees it.
  void cancel_preparation();
  // At a fill past kPrepareLoad starts preparing the next table; past kMaxLoad starts growing into it
  // once ready (at once, for a small table).
  void grow_if_needed(std::size_t adding);
  void find(const Table& table, Key key, std::vector<std::uint32_t>& found) const;
  void place(Table& table, Key key, std::uint32_t value, int per_key);
  void drain(std::uint64_t slots);

  // Growing moves the slots into a table twice as large a few hundred at a time, on each insert, so that
  // no document waits for a whole rebuild (seconds at 10^7 stored); until then both are read. The larger
  // table is mapped and faulted in beforehand on another thread, so that no document waits for its page
  // faults (or for the kernel compacting memory into huge pages) either.
  Table table_;
  Table draining_;
  struct Prepared : Preparation {
    Table table;
  };
  std::shared_ptr<Prepared> preparing_;
  std::future<void> preparer_;
  std::future<void> retiring_;
  std::uint64_t drained_ = 0;  // slots of draining_ moved so far
  std::uint32_t first_live_ = 0;
  std::uint32_t indexed_next_ = 0;
};

// Explicitly instantiated in dedupe_band_table.cc.
extern template class HashTable<WideSlot>;
extern template class HashTable<NarrowSlot>;

using ExactTable = HashTable<WideSlot>;
using BandTable = HashTable<NarrowSlot>;

}  // namespace vnawire::dedupe
