// Dedupe's cost per document: preparing a text (normalising, shingling, signing) and, against the size of
// the index, deciding and recording it (lookup + insert), with the memory and disk each stored document takes.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string_view>
#include <unordered_map>

#include "stages/dedupe/dedupe_config.h"
#include "stages/dedupe/dedupe_near.h"
#include "stages/dedupe/dedupe_normalize.h"
#include "stages/dedupe/dedupe_store.h"
#include "tests/stages/dedupe/dedupe_stream.h"

namespace {

using namespace vnawire::dedupe;

struct Prepared {
  std::string id, text_fingerprint;
  NearSignature signature;
};

Prepared prepare(const vnawire::testing::StreamItem& item, const NearOptions& options) {
  const DedupeText text = prepare_text(item.body, false, true);
  return {item.id, fingerprint(text.normalized), near_signature(text.words, options)};
}

// The stage with a backed-up input (Stage::upcoming): the next document is prepared, and its index slots
// asked for, before the current one is decided. Holds the current document and the next.
class OneAhead {
 public:
  OneAhead(vnawire::testing::DispatchStream& stream, const NearOptions& options, const FingerprintStore& store)
      : stream_(stream),
        options_(options),
        store_(store),
        next_item_(stream.next()),
        next_(prepare(next_item_, options)) {}
  // Makes the next document the current one, prepares the one after it and prefetches its slots.
  void advance() {
    item = std::move(next_item_);
    doc = std::move(next_);
    next_item_ = stream_.next();
    next_ = prepare(next_item_, options_);
    store_.prefetch(next_.id, next_.text_fingerprint, "", &next_.signature);
  }
  vnawire::testing::StreamItem item;
  Prepared doc;

 private:
  vnawire::testing::DispatchStream& stream_;
  const NearOptions& options_;
  const FingerprintStore& store_;
  vnawire::testing::StreamItem next_item_;
  Prepared next_;
};

// A counter of /proc/self/io ("read_bytes:": read from storage for this process; "wchar:": bytes it
// passed to write calls), -1 where that file is not readable.
std::int64_t process_io(std::string_view counter) {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::int64_t value = 0;
  while (io >> key >> value) {
    if (key == counter) return value;
  }
  return -1;
}
std::int64_t disk_read_bytes() { return process_io("read_bytes:"); }

// The calling thread's CPU time in the kernel (system calls, page faults), in seconds.
double thread_system_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_stime.tv_sec) + static_cast<double>(usage.ru_stime.tv_usec) * 1e-6;
}

// The stage's default group commit (option commit_every), so that the store is timed as the stage runs it.
int stage_commit_every() {
  for (const auto& spec : dedupe_option_specs()) {
    if (spec.key == "commit_every") return static_cast<int>(std::get<std::int64_t>(spec.default_value));
  }
  return 1;
}

double thread_cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

std::uintmax_t allocated_bytes(const std::filesystem::path& file) {
  struct stat info {};
  return ::stat(file.c_str(), &info) == 0 ? static_cast<std::uintmax_t>(info.st_blocks) * 512 : 0;
}

// The text side of the stage, whatever the index holds: normalising, shingling and signing one dispatch.
void BM_DedupePrepare(benchmark::State& state) {
  vnawire::testing::DispatchStream stream;
  const NearOptions options;
  std::vector<vnawire::testing::StreamItem> items;
  for (int i = 0; i < 2000; ++i) items.push_back(stream.next());
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(prepare(items[i++ % items.size()], options));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DedupePrepare)->Unit(benchmark::kMicrosecond);

// The band table alone, with random band keys (32 per document, none shared): lookup + insert at
// state.range(0) stored documents, and the same averaged over the whole fill (growth included).
void BM_BandTable(benchmark::State& state) {
  BandTable table;
  std::mt19937_64 random(7);
  std::vector<std::uint64_t> keys(32);
  std::vector<std::uint32_t> found;
  std::uint32_t number = 0;
  const auto fill_started = std::chrono::steady_clock::now();
  for (; number < state.range(0); ++number) {
    for (auto& key : keys) key = random();
    found.clear();
    table.lookup(keys, 32, found);
    table.insert(keys, number, 32);
  }
  state.counters["fill_us_per_doc"] =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - fill_started).count() /
      static_cast<double>(state.range(0));
  for (auto _ : state) {
    for (auto& key : keys) key = random();
    found.clear();
    table.lookup(keys, 32, found);
    table.insert(keys, number++, 32);
  }
  state.counters["bytes_per_doc"] = static_cast<double>(table.memory_bytes()) / number;
}
BENCHMARK(BM_BandTable)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(20'000);

// Fills a store with state.range(0) documents of the generated stream, then times deciding and recording
// the next ones (signatures made beforehand); state.range(1) picks the method (0 MinHash 64x1, the
// default; 1 SimHash; 2 MinHash 64x2).
void BM_DedupeLookupInsert(benchmark::State& state) {
  const char* base = std::getenv("VNAWIRE_BENCH_DIR");  // a roomy disk for 10^7 (~40 GB)
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/vnawire-bench-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern.data());
  NearOptions options;
  if (state.range(1) == 1) options.method = NearMethod::SimHash;
  if (state.range(1) == 2) options.rows = 2;
  std::optional<FingerprintStore> holder(std::in_place);
  FingerprintStore& store = *holder;
  if (!store.open(dir, std::size_t{256} << 30, stage_commit_every()).ok()) {
    state.SkipWithError("cannot open the store");
    return;
  }
  vnawire::testing::DispatchStream stream;
  OneAhead ahead(stream, options, store);
  const std::int64_t now = 1'700'000'000, window = 90 * 86400;
  // Every decision of the fill is checked against the generator's (a re-edit may point to another copy
  // of its original, which counts as right).
  std::int64_t wrong = 0;
  std::unordered_map<std::string, std::string> original_of;
  std::deque<std::string> reedits;  // in arrival order, so that the oldest are forgotten first
  // Deciding and recording during the fill too: the cost per document averaged over the whole growth
  // of the index (the band table doubles now and then), beside the timed loop's cost at this size.
  std::chrono::steady_clock::duration fill_index{}, second_half{};
  // The thread's CPU time, sampled: what other processes on the machine cannot inflate. Odd, so that
  // the documents sampled are not in step with the group commits (every 64th document writes one).
  constexpr std::int64_t kCpuSample = 17;
  double second_half_cpu = 0;
  std::int64_t cpu_samples = 0;
  // What reading the clock twice adds by itself, taken off each sample.
  double clock_cost = 0;
  for (int i = 0; i < 1000; ++i) {
    const double first = thread_cpu_seconds();
    clock_cost += thread_cpu_seconds() - first;
  }
  clock_cost /= 1000;
  // The sampled documents' own wall time, to set their CPU beside (on this machine the CPU reads about
  // 1 µs above it even with the clock's cost taken off: docs/dedupe.md).
  std::chrono::steady_clock::duration sampled_wall{};
  std::chrono::steady_clock::duration slowest{};  // the longest single document of the second half
  // Over the second half: the thread's time in the kernel and the bytes it wrote. Preparing a text makes
  // no system calls (its allocations come from the allocator's reused memory), so the kernel time is the
  // decisions' (the group commits' writes, page faults) plus the sampled clock reads (about 0.09 µs per
  // document). The kernel splits a thread's CPU into user and system time by timer ticks: a short
  // second half (10^5: under a second) gives that split to within a fifth.
  double system_at_half = 0;
  std::int64_t written_at_half = 0;
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    if (i == state.range(0) / 2) {
      system_at_half = thread_system_seconds();
      written_at_half = process_io("wchar:");
    }
    ahead.advance();
    const vnawire::testing::StreamItem& item = ahead.item;
    const Prepared& doc = ahead.doc;
    NearRequest near{&doc.signature, &options, now, window};
    // The thread's CPU clock is a system call (0.8 µs on this machine, most of it in the kernel): read
    // around one document in kCpuSample of the second half, outside the wall-clock interval, so that it
    // inflates neither the times nor (much) the kernel's share.
    const bool cpu_sampled = i >= state.range(0) / 2 && i % kCpuSample == 0;
    const double cpu_started = cpu_sampled ? thread_cpu_seconds() : 0;
    const auto started = std::chrono::steady_clock::now();
    const Checked checked = store.check_and_record(doc.id, doc.text_fingerprint, "", &near);
    const auto took = std::chrono::steady_clock::now() - started;
    if (cpu_sampled) {
      second_half_cpu += thread_cpu_seconds() - cpu_started - clock_cost;
      sampled_wall += took;
      ++cpu_samples;
    }
    fill_index += took;
    if (i >= state.range(0) / 2) {
      second_half += took;
      slowest = std::max(slowest, took);
    }
    if (item.expected == "near_duplicate") {
      original_of[item.id] = item.of;
      reedits.push_back(item.id);
    }
    if (!checked.outcome) {
      ++wrong;
      continue;
    }
    const std::string& of = checked.outcome->of;
    const auto root = original_of.find(of);
    if (decision_name(checked.outcome->decision) != item.expected ||
        (root != original_of.end() ? root->second : of) != item.of) {
      ++wrong;
    }
    // Bounded for 10^7: re-edits are made of the last thousand originals, so older ones are never named.
    if (reedits.size() > 100'000) {
      original_of.erase(reedits.front());
      reedits.pop_front();
    }
  }
  const auto second_half_docs = static_cast<double>(state.range(0) - state.range(0) / 2);
  state.counters["wrong_decisions_in_fill"] = static_cast<double>(wrong);
  state.counters["fill_us_per_doc"] =
      std::chrono::duration<double, std::micro>(fill_index).count() / static_cast<double>(state.range(0));
  // From N/2 to N stored: every in-memory table grows once in that span, so this is the cost per
  // document at this size with growth included, the figure to compare across sizes.
  state.counters["half_to_n_us_per_doc"] =
      std::chrono::duration<double, std::micro>(second_half).count() / second_half_docs;
  // A table growing, a commit or a snapshot must not hold one document up: the worst of N/2 -> N.
  state.counters["half_to_n_max_us"] = std::chrono::duration<double, std::micro>(slowest).count();
  state.counters["half_to_n_cpu_us_per_doc"] =
      cpu_samples > 0 ? second_half_cpu * 1e6 / static_cast<double>(cpu_samples) : 0.0;
  state.counters["half_to_n_sampled_wall_us_per_doc"] =
      cpu_samples > 0
          ? std::chrono::duration<double, std::micro>(sampled_wall).count() / static_cast<double>(cpu_samples)
          : 0.0;
  state.counters["half_to_n_system_us_per_doc"] = (thread_system_seconds() - system_at_half) * 1e6 / second_half_docs;
  state.counters["half_to_n_written_bytes_per_doc"] =
      static_cast<double>(process_io("wchar:") - written_at_half) / second_half_docs;
  // What the timed documents cost beyond CPU: log records read, page faults (major: read from disk), and
  // bytes the kernel read from the disk for this process.
  const std::uint64_t reads_before = store.log_reads();
  rusage faults_before{};
  ::getrusage(RUSAGE_SELF, &faults_before);
  const std::int64_t disk_before = disk_read_bytes();
  // Each document is prepared (and the next one) just before it is timed, as in the stage.
  for (auto _ : state) {
    ahead.advance();
    const Prepared& doc = ahead.doc;
    NearRequest near{&doc.signature, &options, now, window};
    const auto started = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(store.check_and_record(doc.id, doc.text_fingerprint, "", &near));
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  state.SetItemsProcessed(state.iterations());
  rusage faults_after{};
  ::getrusage(RUSAGE_SELF, &faults_after);
  const double timed = static_cast<double>(state.iterations());
  state.counters["log_reads_per_doc"] = static_cast<double>(store.log_reads() - reads_before) / timed;
  state.counters["minor_faults_per_doc"] =
      static_cast<double>(faults_after.ru_minflt - faults_before.ru_minflt) / timed;
  state.counters["major_faults_per_doc"] =
      static_cast<double>(faults_after.ru_majflt - faults_before.ru_majflt) / timed;
  state.counters["disk_read_bytes_per_doc"] = static_cast<double>(disk_read_bytes() - disk_before) / timed;
  const double stored = static_cast<double>(state.range(0)) + static_cast<double>(state.iterations());
  // Blocks in use, not the file size: the LMDB file is as large as its map. The band table is memory.
  state.counters["lmdb_bytes_per_doc"] = static_cast<double>(allocated_bytes(dir / "data.mdb")) / stored;
  state.counters["memory_bytes_per_doc"] = static_cast<double>(store.index().memory_bytes()) / stored;
  state.counters["bands_load"] =
      static_cast<double>(store.index().bands().used_slots()) / static_cast<double>(store.index().bands().capacity());
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  // A restart: with the snapshot written at close, then without it (after a crash), indexing the log.
  holder.reset();
  for (const bool with_snapshot : {true, false}) {
    if (!with_snapshot) {
      for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().filename().string().starts_with("index.snapshot")) std::filesystem::remove(entry.path());
      }
    }
    const auto started = std::chrono::steady_clock::now();
    FingerprintStore reopened;
    if (!reopened.open(dir, std::size_t{256} << 30).ok()) state.SkipWithError("cannot reopen the store");
    state.counters[with_snapshot ? "reopen_s" : "reopen_without_snapshot_s"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  std::filesystem::remove_all(dir);
}
// Documents timed at N: VNAWIRE_BENCH_TIMED, default 20,000. A longer loop (200,000 at 10^7: some 15 s with
// the preparing) also sees the kernel write the group commits back to disk, which a short one may not.
benchmark::IterationCount timed_documents() {
  const char* value = std::getenv("VNAWIRE_BENCH_TIMED");
  return value != nullptr ? std::max<benchmark::IterationCount>(1000, std::atoll(value)) : 20'000;
}

BENCHMARK(BM_DedupeLookupInsert)
    ->Args({10'000, 0})
    ->Args({10'000, 1})
    ->Args({10'000, 2})
    ->Args({100'000, 0})
    ->Args({1'000'000, 0})   // a few minutes to fill: --benchmark_filter=/10000/ for the quick ones
    ->Args({10'000'000, 0})  // 15 minutes, 16 GB of memory and 12 GB of disk: run it alone, VNAWIRE_BENCH_DIR
    ->Unit(benchmark::kMicrosecond)
    ->UseManualTime()
    ->Iterations(timed_documents());

}  // namespace

BENCHMARK_MAIN();
