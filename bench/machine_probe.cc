// What this machine charges for the things the stages' costs are made of: a system call, a process waking
// another, a page fault, a random memory read against the size of what is read, and a file growing in the
// page cache. Benchmarks taken on two hosts (or on one host a week apart) are compared through these
// figures: a virtual machine can make a page fault or a file's growth ten times dearer than bare metal
// (docs/performance.md).
//
// usage: vnawire_machine_probe [--large] [--write-gb N]
//   --large       random reads over 4 GB and 12 GB too (needs 13 GB of free memory)
//   --write-gb N  grows a file by N GB (default 2) under $VNAWIRE_BENCH_DIR or /tmp, then removes it
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double system_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_stime.tv_sec) + static_cast<double>(usage.ru_stime.tv_usec) * 1e-6;
}

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

void system_calls() {
  constexpr int kCalls = 200'000;
  auto start = Clock::now();
  for (int i = 0; i < kCalls; ++i) ::syscall(SYS_getppid);
  std::printf("system call (getppid)            %8.3f us\n", seconds_since(start) * 1e6 / kCalls);
  timespec now{};
  start = Clock::now();
  for (int i = 0; i < kCalls; ++i) ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  std::printf("thread CPU clock read            %8.3f us\n", seconds_since(start) * 1e6 / kCalls);
}

// Two processes passing a byte back and forth over pipes: each round trip is two wake-ups of a sleeping
// process, what every message between two pipeline stages costs at least once when their queues are short.
void wake_ups() {
  int there[2], back[2];
  if (::pipe(there) != 0 || ::pipe(back) != 0) return;
  constexpr int kRounds = 20'000;
  const pid_t child = ::fork();
  if (child == 0) {
    char byte = 0;
    for (int i = 0; i < kRounds; ++i) {
      if (::read(there[0], &byte, 1) != 1 || ::write(back[1], &byte, 1) != 1) break;
    }
    ::_exit(0);
  }
  char byte = 'x';
  const auto start = Clock::now();
  for (int i = 0; i < kRounds; ++i) {
    if (::write(there[1], &byte, 1) != 1 || ::read(back[0], &byte, 1) != 1) break;
  }
  std::printf("process wake-up round trip       %8.3f us\n", seconds_since(start) * 1e6 / kRounds);
  int status = 0;
  ::waitpid(child, &status, 0);
  for (const int fd : {there[0], there[1], back[0], back[1]}) ::close(fd);
}

// Anonymous memory touched for the first time: one fault per 4 KB page.
void page_faults() {
  constexpr std::size_t kBytes = std::size_t{256} << 20;
  void* memory = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return;
  auto* bytes = static_cast<volatile char*>(memory);
  const auto start = Clock::now();
  for (std::size_t at = 0; at < kBytes; at += 4096) bytes[at] = 1;
  std::printf("page fault, first touch (4 KB)   %8.3f us\n", seconds_since(start) * 1e6 / (kBytes / 4096));
  ::munmap(memory, kBytes);
}

// Dependent random reads over `megabytes` of memory in huge pages where the kernel grants them: what one
// cache miss costs once the data outgrows the caches and the TLB.
void random_reads(std::size_t megabytes) {
  const std::size_t bytes = megabytes << 20;
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    std::printf("random read over %6zu MB         (cannot map)\n", megabytes);
    return;
  }
  (void)::madvise(memory, bytes, MADV_HUGEPAGE);
  auto* slots = static_cast<std::uint64_t*>(memory);
  const std::uint64_t mask = bytes / sizeof(std::uint64_t) - 1;
  for (std::uint64_t i = 0; i <= mask; ++i) slots[i] = i;
  constexpr int kReads = 2'000'000;
  std::uint64_t x = 1;
  const auto start = Clock::now();
  for (int i = 0; i < kReads; ++i) x = slots[mix(x + static_cast<std::uint64_t>(i)) & mask];  // each waits for the last
  std::printf("random read over %6zu MB        %8.1f ns\n", megabytes, seconds_since(start) * 1e9 / kReads);
  asm volatile("" : : "r"(x));  // the reads' result is used: the loop stays
  ::munmap(memory, bytes);
}

// A file growing by `gigabytes` in writes of 77 KB (a dedupe group commit of 64 records): the time and the
// kernel time per KB written, per GB. The first GB or two may land in memory the guest has just used; what
// follows shows what a growing page cache costs on this host.
void file_growth(int gigabytes) {
  const char* base = std::getenv("VNAWIRE_BENCH_DIR");
  std::string path = std::string(base != nullptr ? base : "/tmp") + "/vnawire-probe-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) {
    std::perror("vnawire_machine_probe: mkstemp");
    return;
  }
  ::unlink(path.c_str());
  const std::vector<char> chunk(64 * 1228, 'x');
  const std::size_t per_gb = (std::size_t{1} << 30) / chunk.size();
  for (int gb = 0; gb < gigabytes; ++gb) {
    const double system_start = system_seconds();
    const auto start = Clock::now();
    for (std::size_t i = 0; i < per_gb; ++i) {
      if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
        std::perror("vnawire_machine_probe: write");
        ::close(fd);
        return;
      }
    }
    const double kb = static_cast<double>(per_gb * chunk.size()) / 1024.0;
    std::printf("file growth, GB %2d: per KB       %8.3f us (kernel %.3f us)\n", gb + 1,
                seconds_since(start) * 1e6 / kb, (system_seconds() - system_start) * 1e6 / kb);
    std::fflush(stdout);
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  bool large = false;
  int write_gb = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--large") {
      large = true;
    } else if (arg == "--write-gb" && i + 1 < argc) {
      write_gb = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: vnawire_machine_probe [--large] [--write-gb N]\n");
      return 2;
    }
  }
  system_calls();
  wake_ups();
  page_faults();
  for (std::size_t megabytes : {std::size_t{32}, std::size_t{512}}) random_reads(megabytes);
  if (large) {
    for (std::size_t megabytes : {std::size_t{4096}, std::size_t{12288}}) random_reads(megabytes);
  }
  file_growth(write_gb);
  return 0;
}
