// The memory allocator every vnawire process runs on, and its settings (docs/performance.md, "The allocator").
//
// Release builds link jemalloc (cmake -DVNAWIRE_ALLOCATOR=jemalloc, the default): with glibc's malloc a stage
// spent about a tenth of its CPU allocating, most of it on the large buffers a message's body needs
// (_int_malloc, unlink_chunk, malloc_consolidate) and on buffers one thread allocates and ZeroMQ's I/O thread
// frees. Sanitized and fuzzing builds keep the system allocator, which the sanitizers replace.
#include "daemon/allocator.h"

#if VNAWIRE_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <gnu/libc-version.h>
#endif

#if VNAWIRE_JEMALLOC
// Read by jemalloc when the process starts, before MALLOC_CONF (which overrides it, for an experiment).
// One arena: a stage has two or three threads, and each thread's cache serves the fast path anyway; the
// other arenas only held memory. Freed pages go back to the kernel after a second, not ten, so that a burst
// of 60 KB pages does not stay in a stage's resident size.
extern "C" {
// NOLINTNEXTLINE: the name jemalloc looks up.
const char* malloc_conf = "narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
#endif

namespace vnawire::daemon {

std::string allocator_description() {
#if VNAWIRE_JEMALLOC
  const char* version = nullptr;
  unsigned arenas = 0;
  std::size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) != 0 || version == nullptr) return "jemalloc (unreadable)";
  size = sizeof(arenas);
  if (mallctl("opt.narenas", &arenas, &size, nullptr, 0) != 0) arenas = 0;
  std::string text = "jemalloc ";
  text += version;
  text += ", " + std::to_string(arenas) + (arenas == 1 ? " arena" : " arenas");
  return text;
#elif defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return std::string("glibc malloc ") + gnu_get_libc_version() + ", replaced by the sanitizer's";
#else
  return std::string("glibc malloc ") + gnu_get_libc_version();
#endif
}

}  // namespace vnawire::daemon
