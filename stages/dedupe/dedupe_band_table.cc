// The hash tables: 2^k slots of {key, number + 1}, linear probing, in anonymous memory.
#include "stages/dedupe/dedupe_band_table.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

namespace vnawire::dedupe {
namespace {

constexpr std::uint64_t kFirstCapacity = std::uint64_t{1} << 16;
// Linear probing stays short (8.5 slots per miss on average, two cache lines) up to 3/4 full.
constexpr double kMaxLoad = 0.75;
// Preparing the next table starts at 5/8 full: faulting in gigabytes takes a second or two, against
// millions of documents between 5/8 and 3/4. Should it not be ready at 3/4, inserts go on into the
// current table (probing grows longer) up to 7/8, where the document waits for it.
constexpr double kPrepareLoad = 0.625;
constexpr double kHardLoad = 0.875;
// Below this a table is allocated on the spot, and with small pages: its faults cost microseconds.
constexpr std::uint64_t kPreparedBytes = std::uint64_t{8} << 20;
// Memory faulted in or unmapped per system call (a few huge pages).
constexpr std::uint64_t kSliceBytes = std::uint64_t{8} << 20;
// Memory a document faults in when it helps the preparation along (one huge page, 0.1-0.2 ms).
constexpr std::uint64_t kHelpBytes = std::uint64_t{2} << 20;
// Slots moved per inserted key while growing. Reads probe both tables until the old one is empty, so
// it should empty fast: at 16 it takes 1/16 of the inserts that fill the new table from 3/8 to 3/4 of
// its size, and its share of the cost per document is a sequential read and write of 16 slots per key.
constexpr std::uint64_t kDrainPerKey = 16;

struct SnapshotHeader {
  char magic[8];
  std::uint64_t capacity;
  std::uint64_t used;
  std::uint32_t first_live;
  std::uint32_t indexed_next;
};

// The low bits of the key at every size: a table twice as large puts a slot at its old home or that
// plus the old capacity, so that moving slots in order writes the new table almost sequentially.
// Keys are well-mixed hashes already.
std::uint64_t home_of(std::uint64_t key, std::uint64_t mask) { return key & mask; }

// Reads or writes all `size` bytes, in pieces of at most 1 GiB (what one call moves at most).
template <typename Byte, typename Call>
bool transfer_all(Call call, int fd, Byte* data, std::uint64_t size) {
  while (size > 0) {
    const ssize_t n = call(fd, data, std::min<std::uint64_t>(size, std::uint64_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::uint64_t>(n);
  }
  return true;
}

bool write_all(int fd, const void* data, std::uint64_t size) {
  return transfer_all(::write, fd, static_cast<const char*>(data), size);
}

bool read_all(int fd, void* data, std::uint64_t size) {
  return transfer_all(::read, fd, static_cast<char*>(data), size);
}

// The threads that prepare and free tables run at the lowest priority (nice 19, batch class): sharing a
// core with the documents they take about 1.5 % of it. Not the idle class: on a machine whose cores are
// all busy (extract replicas beside dedupe) an idle-class thread never runs, and a table still unprepared
// at 7/8 full held a document up for a second at 10^6 stored.
void run_in_background() {
  sched_param param{};
  const auto thread = static_cast<id_t>(::syscall(SYS_gettid));
  (void)::sched_setscheduler(thread, SCHED_BATCH, &param);  // this thread only, on Linux
  (void)::setpriority(PRIO_PROCESS, thread, 19);
}

}  // namespace

template <typename Slot>
HashTable<Slot>::~HashTable() {
  clear();
}

// Anonymous pages come zeroed (empty slots). A large table is a DRAM access per slot read whatever
// happens, but with small pages also a page walk that misses the caches (its page tables outgrow them at
// 10^7 documents): huge pages keep the walk in the cache. Their faults may compact memory first (stalls
// of 10-100 ms were measured), so a large table is faulted in whole here, by the thread preparing it.
template <typename Slot>
typename HashTable<Slot>::Table HashTable<Slot>::allocate(std::uint64_t capacity) {
  const std::uint64_t bytes = capacity * sizeof(Slot);
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
  if (bytes >= kPreparedBytes) (void)::madvise(memory, bytes, MADV_HUGEPAGE);  // a hint: works without THP
  return Table{static_cast<Slot*>(memory), capacity - 1, 0};
}

bool Preparation::fault_in(std::uint64_t slice) {
  const std::uint64_t at = next.fetch_add(slice, std::memory_order_relaxed);
  if (at >= bytes) return false;
  const std::uint64_t length = std::min(slice, bytes - at);
#ifdef MADV_POPULATE_WRITE
  if (::madvise(base + at, length, MADV_POPULATE_WRITE) != 0)
#endif
  {
    // Kernels before 5.14: touching each page faults it in just the same.
    auto* page = static_cast<volatile char*>(base + at);
    for (std::uint64_t offset = 0; offset < length; offset += 4096) page[offset] = 0;
  }
  done.fetch_add(length, std::memory_order_release);
  return true;
}

template <typename Slot>
void HashTable<Slot>::release(Table& table) {
  if (table.slots == nullptr) return;
  // In slices, for the same lock as allocate()'s.
  auto* base = reinterpret_cast<char*>(table.slots);
  const std::uint64_t bytes = table.capacity() * sizeof(Slot);
  for (std::uint64_t at = 0; at < bytes; at += kSliceBytes) ::munmap(base + at, std::min(kSliceBytes, bytes - at));
  table = Table{};
}

template <typename Slot>
void HashTable<Slot>::retire(Table& table) {
  if (retiring_.valid()) retiring_.wait();
  retiring_ = std::async(std::launch::async, [table] {
    run_in_background();
    Table gone = table;
    release(gone);
  });
  table = Table{};
}

template <typename Slot>
void HashTable<Slot>::cancel_preparation() {
  if (!preparing_) return;
  preparing_->next = preparing_->bytes;  // nothing more to claim
  preparer_.wait();
  Table prepared = preparing_->table;
  release(prepared);
  preparing_.reset();
}

template <typename Slot>
void HashTable<Slot>::clear() {
  cancel_preparation();
  if (retiring_.valid()) retiring_.wait();
  release(table_);
  release(draining_);
  drained_ = 0;
  first_live_ = indexed_next_ = 0;
}

template <typename Slot>
bool HashTable<Slot>::load(const std::filesystem::path& file) {
  clear();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  SnapshotHeader header{};
  // Capacity 0 is a table that never had an entry.
  bool ok = read_all(fd, &header, sizeof header) && std::memcmp(header.magic, Slot::kMagic, sizeof Slot::kMagic) == 0 &&
            (header.capacity & (header.capacity - 1)) == 0 && header.capacity != 1 && header.capacity < (1ULL << 40);
  if (ok && header.capacity > 0) {
    table_ = allocate(header.capacity);
    ok = read_all(fd, table_.slots, header.capacity * sizeof(Slot));
  }
  char extra = 0;
  ok = ok && ::read(fd, &extra, 1) == 0;  // a file longer than its header says is not ours
  ::close(fd);
  if (!ok) {
    clear();
    return false;
  }
  table_.used = header.used;
  first_live_ = header.first_live;
  indexed_next_ = header.indexed_next;
  return true;
}

template <typename Slot>
runtime::Status HashTable<Slot>::save(const std::filesystem::path& file) {
  drain(draining_.capacity());  // one table in the file
  std::filesystem::path temporary = file;
  temporary += ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return runtime::Status::error("cannot write " + temporary.string() + ": " + std::strerror(errno));
  SnapshotHeader header{};
  std::memcpy(header.magic, Slot::kMagic, sizeof Slot::kMagic);
  header.capacity = table_.capacity();
  header.used = table_.used;
  header.first_live = first_live_;
  header.indexed_next = indexed_next_;
  const bool ok = write_all(fd, &header, sizeof header) &&
                  (table_.slots == nullptr || write_all(fd, table_.slots, table_.capacity() * sizeof(Slot))) &&
                  ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!ok) {
    std::filesystem::remove(temporary);
    return runtime::Status::error("cannot write " + temporary.string() + ": " + std::strerror(error));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec) return runtime::Status::error("cannot replace " + file.string() + ": " + ec.message());
  return {};
}

template <typename Slot>
void HashTable<Slot>::find(const Table& table, Key key, std::vector<std::uint32_t>& found) const {
  if (table.slots == nullptr) return;
  for (std::uint64_t i = home_of(key, table.mask);; i = (i + 1) & table.mask) {
    const Slot& slot = table.slots[i];
    if (slot.key == 0) break;
    if (slot.key == key && slot.value > first_live_) found.push_back(slot.value - 1);
  }
}

template <typename Slot>
void HashTable<Slot>::lookup(std::span<const std::uint64_t> keys, int per_key,
                             std::vector<std::uint32_t>& numbers) const {
  if (table_.slots == nullptr) return;
  // Every home slot is asked for before the first is read: the cache misses (one per key in a large
  // table) then overlap instead of following one another.
  for (std::uint64_t key : keys) {
    __builtin_prefetch(&table_.slots[home_of(stored_key(key), table_.mask)]);
    if (draining_.slots != nullptr) __builtin_prefetch(&draining_.slots[home_of(stored_key(key), draining_.mask)]);
  }
  std::vector<std::uint32_t> found;
  for (std::uint64_t key : keys) {
    found.clear();
    find(table_, stored_key(key), found);
    find(draining_, stored_key(key), found);
    if (found.size() > static_cast<std::size_t>(per_key)) {
      // Newest first: in a bucket crowded by a common phrase, the recent copies are the ones that matter.
      std::nth_element(found.begin(), found.begin() + per_key, found.end(), std::greater<>());
      found.resize(static_cast<std::size_t>(per_key));
    }
    numbers.insert(numbers.end(), found.begin(), found.end());
  }
}

template <typename Slot>
void HashTable<Slot>::prefetch(std::uint64_t key) const {
  if (table_.slots != nullptr) __builtin_prefetch(&table_.slots[home_of(stored_key(key), table_.mask)]);
}

template <typename Slot>
void HashTable<Slot>::place(Table& table, Key key, std::uint32_t value, int per_key) {
  std::uint64_t reusable = ~std::uint64_t{0}, oldest = 0, i = home_of(key, table.mask);
  int matches = 0;
  for (;; i = (i + 1) & table.mask) {
    const Slot& slot = table.slots[i];
    if (slot.key == 0) break;
    if (slot.value == 0 || slot.value <= first_live_) {
      if (reusable == ~std::uint64_t{0}) reusable = i;
    } else if (slot.key == key) {
      if (slot.value == value) return;  // indexed already
      if (matches++ == 0 || slot.value < table.slots[oldest].value) oldest = i;
    }
  }
  if (matches >= per_key) {
    table.slots[oldest].value = value;
  } else if (reusable != ~std::uint64_t{0}) {
    table.slots[reusable] = Slot{key, value};
  } else {
    table.slots[i] = Slot{key, value};
    ++table.used;
  }
}

// Moves the next `slots` slots of the draining table (live ones only: expired and removed ones are left
// behind) into the current one, and frees the draining table once it is empty.
template <typename Slot>
void HashTable<Slot>::drain(std::uint64_t slots) {
  if (draining_.slots == nullptr) return;
  const std::uint64_t end = std::min(draining_.capacity(), drained_ + slots);
  for (; drained_ < end; ++drained_) {
    Slot& slot = draining_.slots[drained_];
    if (slot.value <= first_live_) continue;
    place(table_, slot.key, slot.value, std::numeric_limits<int>::max());
    slot.value = 0;  // removed, not empty: probes from earlier homes still walk past it
  }
  if (drained_ == draining_.capacity()) {
    retire(draining_);
    drained_ = 0;
  }
}

template <typename Slot>
void HashTable<Slot>::grow_if_needed(std::size_t adding) {
  if (draining_.slots != nullptr) return;
  const double capacity = static_cast<double>(table_.capacity());
  const double load = static_cast<double>(table_.used + adding) / capacity;
  const std::uint64_t larger = table_.capacity() * 2;
  // A 32-bit tag names at most 2^32 homes: a larger table would leave its upper half unreached.
  if (larger - 1 > std::numeric_limits<Key>::max()) {
    if (load > kHardLoad) throw std::length_error("the band index is full (2^32 slots): lower window_days");
    return;
  }
  if (load > kPrepareLoad && !preparing_ && larger * sizeof(Slot) >= kPreparedBytes) {
    preparing_ = std::make_shared<Prepared>();
    preparing_->table = allocate(larger);  // mapped only: the faults are the slow part
    preparing_->base = reinterpret_cast<char*>(preparing_->table.slots);
    preparing_->bytes = larger * sizeof(Slot);
    preparer_ = std::async(std::launch::async, [preparation = preparing_] {
      run_in_background();
      while (preparation->fault_in(kSliceBytes)) {
      }
    });
  }
  if (load <= kMaxLoad) return;
  Table next;
  if (preparing_) {
    if (!preparing_->ready()) {
      // Past 3/4 the documents help, a huge page each, so that on a machine too busy to give the
      // background thread its share the table is still ready by 7/8, where a document must wait for it.
      if (load <= kHardLoad) {
        preparing_->fault_in(kHelpBytes);
        if (!preparing_->ready()) return;
      }
      while (preparing_->fault_in(kSliceBytes)) {
      }
    }
    preparer_.wait();
    next = preparing_->table;
    preparing_.reset();
  } else {
    next = allocate(larger);
  }
  draining_ = table_;
  table_ = next;
}

template <typename Slot>
void HashTable<Slot>::insert(std::span<const std::uint64_t> keys, std::uint32_t number, int per_key) {
  if (table_.slots == nullptr) table_ = allocate(kFirstCapacity);
  grow_if_needed(keys.size());
  drain(kDrainPerKey * keys.size());
  for (std::uint64_t key : keys) place(table_, stored_key(key), number + 1, std::max(1, per_key));
}

template <typename Slot>
void HashTable<Slot>::remove(std::span<const std::uint64_t> keys, std::uint32_t number) {
  for (Table* table : {&table_, &draining_}) {
    if (table->slots == nullptr) continue;
    for (const std::uint64_t whole : keys) {
      const Key key = stored_key(whole);
      for (std::uint64_t i = home_of(key, table->mask); table->slots[i].key != 0; i = (i + 1) & table->mask) {
        if (table->slots[i].key == key && table->slots[i].value == number + 1) table->slots[i].value = 0;
      }
    }
  }
}

template <typename Slot>
void HashTable<Slot>::set_first_live(std::uint32_t number) {
  first_live_ = std::max(first_live_, number);
}

template class HashTable<WideSlot>;
template class HashTable<NarrowSlot>;

}  // namespace vnawire::dedupe
