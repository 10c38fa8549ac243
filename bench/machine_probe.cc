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
#include <sched.h>
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
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
__extension__ typedef unsigned __int128 Wide;  // GCC's and Clang's, for a 64 x 64 -> 128 bit product

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

double cpu_seconds(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

// Two processes passing a byte back and forth over pipes, pinned to cores `parent_cpu` and `child_cpu`:
// each round trip is two wake-ups of a sleeping process, what a message between two pipeline stages costs
// when the receiver waits for it. Prints the wall time and the CPU both processes spent per round trip.
void wake_ups(int parent_cpu, int child_cpu, const char* label) {
  int there[2], back[2];
  if (::pipe(there) != 0) return;
  if (::pipe(back) != 0) {
    ::close(there[0]);
    ::close(there[1]);
    return;
  }
  constexpr int kRounds = 20'000;
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(there[1]);
    ::close(back[0]);
    if (!pin_to(child_cpu)) ::_exit(2);
    char byte = 0;
    for (int i = 0; i < kRounds; ++i) {
      if (::read(there[0], &byte, 1) != 1 || ::write(back[1], &byte, 1) != 1) ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(there[0]);  // so that a child that stops early ends the parent's reads
  ::close(back[1]);
  if (child < 0) {
    std::perror("vnawire_machine_probe: fork");
    ::close(there[1]);
    ::close(back[0]);
    return;
  }
  cpu_set_t before;
  CPU_ZERO(&before);
  const bool restore = ::sched_getaffinity(0, sizeof before, &before) == 0;
  const bool pinned = pin_to(parent_cpu);
  rusage own_start{};
  ::getrusage(RUSAGE_SELF, &own_start);
  char byte = 'x';
  int rounds = 0;
  const auto start = Clock::now();
  for (; rounds < kRounds; ++rounds) {
    if (::write(there[1], &byte, 1) != 1 || ::read(back[0], &byte, 1) != 1) break;
  }
  const double wall = seconds_since(start);
  rusage own_end{}, theirs{};
  ::getrusage(RUSAGE_SELF, &own_end);
  ::close(there[1]);
  ::close(back[0]);
  int status = 0;
  ::wait4(child, &status, 0, &theirs);
  if (restore) ::sched_setaffinity(0, sizeof before, &before);
  if (!pinned || rounds < kRounds || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::printf("wake-up round trip, %-13s(could not pin or run on cores %d and %d)\n", label, parent_cpu, child_cpu);
    return;
  }
  std::printf("wake-up round trip, %-13s%8.3f us (CPU of both %.3f us)\n", label, wall * 1e6 / kRounds,
              (cpu_seconds(own_end) - cpu_seconds(own_start) + cpu_seconds(theirs)) * 1e6 / kRounds);
}

// The first two cores this process may run on (-1 where there is none).
std::pair<int, int> allowed_cores() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  std::pair<int, int> cores{-1, -1};
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (cores.first < 0) {
      cores.first = cpu;
    } else {
      cores.second = cpu;
      break;
    }
  }
  return cores;
}

// Anonymous memory touched for the first time: one fault per 4 KB page.
void page_faults() {
  constexpr std::size_t kBytes = std::size_t{256} << 20;
  void* memory = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return;
  (void)::madvise(memory, kBytes, MADV_NOHUGEPAGE);  // 4 KB pages even where huge pages are always on
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
  const std::uint64_t count = bytes / sizeof(std::uint64_t);
  for (std::uint64_t i = 0; i < count; ++i) slots[i] = i;
  constexpr int kReads = 2'000'000;
  std::uint64_t x = 1;
  const auto start = Clock::now();
  for (int i = 0; i < kReads; ++i) {
    // A slot anywhere in the region (multiply-shift: sizes need not be powers of two); each read waits for
    // the one before.
    const auto slot =
        static_cast<std::uint64_t>((static_cast<Wide>(mix(x + static_cast<std::uint64_t>(i))) * count) >> 64);
    x = slots[slot];
  }
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
  const auto [first, second] = allowed_cores();
  if (first >= 0) wake_ups(first, first, "one core");
  if (second >= 0) wake_ups(first, second, "two cores");
  page_faults();
  for (std::size_t megabytes : {std::size_t{32}, std::size_t{512}}) random_reads(megabytes);
  if (large) {
    for (std::size_t megabytes : {std::size_t{4096}, std::size_t{12288}}) random_reads(megabytes);
  }
  file_growth(write_gb);
  return 0;
}
