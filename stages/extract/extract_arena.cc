// The per-thread arenas behind libxml2's parses of pages (extract_arena.h). A page's tree is tens of
// thousands of small blocks; malloc and free of them, and xmlFreeDoc's walk, were a third of a parse.
#include "stages/extract/extract_arena.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>
#include <sanitizer/asan_interface.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace vnawire::extract::arena {
namespace {

// Address space only: pages are given memory as they are touched.
constexpr std::size_t kRegionBytes = std::size_t{16} << 30;
constexpr std::size_t kChunkBytes = std::size_t{4} << 20;
// What an arena keeps in memory between parses; past it (a huge page once), the pages go back to the system.
constexpr std::size_t kKeptBytes = std::size_t{64} << 20;
// What one arena may hold: documents kept alive across parses must not grow it without end.
constexpr std::size_t kArenaBytes = std::size_t{1} << 30;
constexpr std::size_t kAlign = 16;  // malloc's alignment
constexpr std::size_t kHeader = 8;  // each block starts with its size, for realloc

struct Chunk {
  char* begin = nullptr;
  std::size_t size = 0;
};

// One reservation holds every arena of the process, so that "is this arena memory?" is one comparison on
// any thread, also for a block that another thread's arena handed out. Set once by install().
std::atomic<std::uintptr_t> g_region_base{0};
std::atomic<std::size_t> g_region_carved{0};

bool in_region(const void* p) {
  const std::uintptr_t base = g_region_base.load(std::memory_order_acquire);
  return base != 0 && reinterpret_cast<std::uintptr_t>(p) - base < kRegionBytes;
}

// Chunks of threads that ended, for the next threads (never destroyed: frees may come during exit).
struct Pool {
  std::mutex mutex;
  std::vector<Chunk> chunks;
};
Pool& pool() {
  static Pool* const p = new Pool;
  return *p;
}

// A chunk of at least `bytes`: from the pool, else carved from the region; empty when the region is spent.
Chunk take_chunk(std::size_t bytes) {
  {
    Pool& p = pool();
    const std::lock_guard lock(p.mutex);
    const auto fits = std::find_if(p.chunks.begin(), p.chunks.end(), [&](const Chunk& c) { return c.size >= bytes; });
    if (fits != p.chunks.end()) {
      const Chunk c = *fits;
      p.chunks.erase(fits);
      return c;
    }
  }
  const std::size_t at = g_region_carved.fetch_add(bytes);
  if (at + bytes > kRegionBytes) return {};
  char* begin = reinterpret_cast<char*>(g_region_base.load(std::memory_order_acquire) + at);
  if (mprotect(begin, bytes, PROT_READ | PROT_WRITE) != 0) return {};
  return {begin, bytes};
}

std::size_t block_size(const void* p) {
  std::size_t size = 0;
  std::memcpy(&size, static_cast<const char*>(p) - kHeader, sizeof size);
  return size;
}

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // A block of `n` bytes, or null when no chunk is left (the caller then uses malloc).
  void* allocate(std::size_t n) {
    const std::size_t need = rounded(n);
    if (n > kArenaBytes || (static_cast<std::size_t>(limit_ - next_) < need && !next_chunk(need))) {
      fell_back_ = true;
      return nullptr;
    }
    char* block = next_;
    next_ += need;
    ASAN_UNPOISON_MEMORY_REGION(block, kHeader + n);
    std::memcpy(block, &n, sizeof n);
    last_ = block + kHeader;
    return last_;
  }

  // Resizes the block handed out last in place (libxml2 grows its buffers right after allocating them).
  void* resize_last(void* p, std::size_t n) {
    if (p != last_ || n > kArenaBytes) return nullptr;
    char* block = last_ - kHeader;
    if (static_cast<std::size_t>(limit_ - block) < rounded(n)) return nullptr;
    ASAN_POISON_MEMORY_REGION(last_, block_size(last_));
    ASAN_UNPOISON_MEMORY_REGION(block, kHeader + n);
    next_ = block + rounded(n);
    std::memcpy(block, &n, sizeof n);
    return p;
  }

  // Takes back the block handed out last (a parser's scratch buffer); any other free waits for the reset.
  void free_last(void* p) {
    if (p != last_) return;
    ASAN_POISON_MEMORY_REGION(last_ - kHeader, kHeader + block_size(last_));
    next_ = last_ - kHeader;
    last_ = nullptr;
  }

  // Starts over in the first chunk. libxml2 keeps a copy of the last error per thread, whose strings came
  // from the arena: it is cleared first, so that nothing points into the reused memory.
  void reset() {
    xmlResetLastError();
    std::size_t kept = 0;
    for (std::size_t k = 0; k < chunks_.size() && k <= used_; ++k) {
      if (kept >= kKeptBytes) madvise(chunks_[k].begin, chunks_[k].size, MADV_DONTNEED);
      ASAN_POISON_MEMORY_REGION(chunks_[k].begin, chunks_[k].size);
      kept += chunks_[k].size;
    }
    current_ = 0;
    used_ = 0;
    start(chunks_.empty() ? Chunk{} : chunks_.front());
    fell_back_ = false;
  }

  // The chunks go back to the process's pool, their pages to the system.
  void give_back() {
    Pool& p = pool();
    const std::lock_guard lock(p.mutex);
    for (const Chunk& c : chunks_) {
      madvise(c.begin, c.size, MADV_DONTNEED);
      ASAN_POISON_MEMORY_REGION(c.begin, c.size);
      p.chunks.push_back(c);
    }
    chunks_.clear();
    bytes_ = 0;
  }

  bool fell_back() const { return fell_back_; }

  // Ends one hold on the arena, and on the last one gives the chunks back and deletes it.
  static void drop_hold(Arena* a) {
    if (a->holds.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    a->give_back();
    delete a;
  }

  int parses = 0;  // open Parse scopes of the thread
  // The thread's, while it runs, and one per adopted document not released yet: with only the thread's
  // left, the memory can be reused; with none, the arena goes.
  std::atomic<int> holds{1};

 private:
  static std::size_t rounded(std::size_t n) { return (n + kHeader + kAlign - 1) & ~(kAlign - 1); }

  // Blocks start 8 bytes before a 16-byte boundary, so the memory after each size header is aligned.
  // Under AddressSanitizer a chunk is poisoned until blocks are handed out of it, so that a read of a
  // document's tree after its reset or past a block's end is reported like one of malloc memory.
  void start(const Chunk& c) {
    ASAN_POISON_MEMORY_REGION(c.begin, c.size);
    next_ = c.begin == nullptr ? nullptr : c.begin + (kAlign - kHeader);
    limit_ = c.begin == nullptr ? nullptr : c.begin + c.size;
    last_ = nullptr;
  }

  bool next_chunk(std::size_t need) {
    while (current_ + 1 < chunks_.size()) {
      ++current_;
      used_ = std::max(used_, current_);
      if (chunks_[current_].size >= need + kAlign) {
        start(chunks_[current_]);
        return true;
      }
    }
    const std::size_t size = std::max(kChunkBytes, (need + kAlign + kChunkBytes - 1) / kChunkBytes * kChunkBytes);
    if (bytes_ + size > kArenaBytes) return false;
    const Chunk c = take_chunk(size);
    if (c.begin == nullptr) return false;
    bytes_ += c.size;
    chunks_.push_back(c);
    current_ = chunks_.size() - 1;
    used_ = current_;
    start(c);
    return true;
  }

  std::vector<Chunk> chunks_;
  std::size_t bytes_ = 0;    // of all chunks
  std::size_t current_ = 0;  // the chunk being filled
  std::size_t used_ = 0;     // the last chunk filled since the reset
  char* next_ = nullptr;
  char* limit_ = nullptr;
  char* last_ = nullptr;  // the block handed out last
  bool fell_back_ = false;
};

// The thread's arena. When the thread ends with documents of it still alive, the last release ends it.
struct ThreadArena {
  Arena* arena = nullptr;
  ~ThreadArena() {
    if (arena != nullptr) Arena::drop_hold(arena);
  }
};
thread_local ThreadArena t_arena;
thread_local Arena* t_active = nullptr;  // the arena while a Parse is open on this thread

void* arena_malloc(std::size_t n) {
  if (Arena* a = t_active) {
    if (void* p = a->allocate(n)) return p;
  }
  return std::malloc(n);
}

void* arena_realloc(void* p, std::size_t n) {
  if (p == nullptr) return arena_malloc(n);
  if (!in_region(p)) return std::realloc(p, n);
  if (Arena* a = t_active) {
    if (void* same = a->resize_last(p, n)) return same;
  }
  const std::size_t old = block_size(p);
  if (n <= old) return p;
  void* moved = arena_malloc(n);
  if (moved != nullptr) std::memcpy(moved, p, old);
  return moved;
}

void arena_free(void* p) {
  if (p == nullptr) return;
  if (!in_region(p)) return std::free(p);
  if (Arena* a = t_active) a->free_last(p);
}

char* arena_strdup(const char* s) {
  const std::size_t n = std::strlen(s) + 1;
  auto* copy = static_cast<char*>(arena_malloc(n));
  if (copy != nullptr) std::memcpy(copy, s, n);
  return copy;
}

// What `adopt` hangs on a document (its _private, which the HTML parser leaves empty).
struct Adoption {
  Arena* arena;
  bool mixed;  // some of its blocks came from malloc (no chunk was left): xmlFreeDoc frees those
};

}  // namespace

void install() {
  void* base = mmap(nullptr, kRegionBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return;
  g_region_base.store(reinterpret_cast<std::uintptr_t>(base), std::memory_order_release);
  // Blocks from malloc stay valid under these functions, so a thread inside libxml2 during the switch is
  // served either way.
  xmlMemSetup(arena_free, arena_malloc, arena_realloc, arena_strdup);
}

Parse::Parse() {
  if (g_region_base.load(std::memory_order_acquire) == 0) return;
  if (t_arena.arena == nullptr) t_arena.arena = new Arena;
  Arena& a = *t_arena.arena;
  if (a.parses++ == 0) {
    if (a.holds.load(std::memory_order_acquire) == 1) a.reset();
    t_active = &a;
  }
}

Parse::~Parse() {
  if (t_active != nullptr && --t_active->parses == 0) t_active = nullptr;
}

void Parse::adopt(xmlDoc* doc) {
  if (doc == nullptr || t_active == nullptr) return;
  doc->_private = new Adoption{t_active, t_active->fell_back()};
  t_active->holds.fetch_add(1, std::memory_order_relaxed);
}

bool release(xmlDoc* doc) {
  if (doc == nullptr || doc->_private == nullptr) return false;
  const std::unique_ptr<Adoption> adoption(static_cast<Adoption*>(doc->_private));
  doc->_private = nullptr;
  if (adoption->mixed) xmlFreeDoc(doc);  // frees the malloc blocks; those of the arena wait for its reset
  Arena::drop_hold(adoption->arena);
  return true;
}

}  // namespace vnawire::extract::arena
