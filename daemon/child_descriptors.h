// What a forked child keeps of its parent's open files across exec: standard input, output and error only.
#pragma once

#include <fcntl.h>
#include <unistd.h>

namespace vnawire::daemon {

// Call in a forked child, just before exec. The daemon's other descriptors (its metrics listener, opened by
// Asio without close-on-exec, its control and state files) must not live on in the stage processes: a stage
// that outlives a killed daemon would otherwise keep its metrics port, and the next daemon could not bind it.
// Marked close-on-exec rather than closed, so that a failed exec can still report on standard error.
inline void close_inherited_descriptors() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11 know no CLOSE_RANGE_CLOEXEC: every descriptor number up to the limit, one by one.
  const long limit = ::sysconf(_SC_OPEN_MAX);
  const int last = limit > 0 && limit < 65536 ? static_cast<int>(limit) : 65536;
  for (int fd = 3; fd < last; ++fd) (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace vnawire::daemon
