// A per-thread bump allocator for the trees libxml2 builds from pages: a tree is dropped whole, not node by node.
#pragma once

#include <libxml/tree.h>

namespace vnawire::extract::arena {

// Points libxml2's allocator at this file's functions, once per process, after xmlInitParser. Outside a
// `Parse` they are malloc, realloc and free, so memory that libxml2 hands out before or elsewhere (fetch's
// feeds, XPath results, xmlGetProp) stays ordinary malloc memory. Without virtual address space for the
// arenas it installs nothing and every parse uses malloc.
void install();

// While one lives, libxml2's allocations on this thread come from the thread's arena: a bump pointer in
// chunks the thread keeps (and hands back to the process's pool when it ends). Frees of arena memory are
// no-ops; the memory is reused once no document parsed into the arena is alive (an arena that reaches
// 1 GiB with documents still alive takes no more: the next parses use malloc). Put it around the parse
// call only (htmlReadMemory, which also frees its parser context and closes its encoding handlers).
class Parse {
 public:
  Parse();
  ~Parse();
  Parse(const Parse&) = delete;
  Parse& operator=(const Parse&) = delete;

  // Marks `doc` (parsed under this scope) as a document of the arena, alive until `release(doc)`.
  void adopt(xmlDoc* doc);
};

// Ends the life of a document adopted by an arena, on any thread, and returns true; false for any other
// document, which the caller frees with xmlFreeDoc. The tree is not walked: read it, unlink or free its
// nodes, but add nothing to it (new nodes or contents would come from malloc and never be freed).
bool release(xmlDoc* doc);

}  // namespace vnawire::extract::arena
