// Which memory allocator this binary runs on (allocator.cc), for `vnawire version`.
#pragma once

#include <string>

namespace vnawire::daemon {

// "jemalloc 5.3.0-…, 1 arena", or "glibc malloc 2.36" in builds that keep the system allocator.
std::string allocator_description();

}  // namespace vnawire::daemon
