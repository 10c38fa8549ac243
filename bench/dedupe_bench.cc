// Dedupe's cost per document against the size of its index: lookup+insert of generated dispatches.
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

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

// Fills a store with state.range(0) documents, then times the stage's whole per-document work
// (normalising, signing, deciding and recording) on the next ones; state.range(1) picks the method
// (0 MinHash 64x1, the default; 1 SimHash; 2 MinHash 64x2).
void BM_DedupeLookupInsert(benchmark::State& state) {
  char pattern[] = "/tmp/vnawire-bench-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  NearOptions options;
  if (state.range(1) == 1) options.method = NearMethod::SimHash;
  if (state.range(1) == 2) options.rows = 2;
  FingerprintStore store;
  if (!store.open(dir, std::size_t{64} << 30).ok()) {
    state.SkipWithError("cannot open the store");
    return;
  }
  vnawire::testing::DispatchStream stream;
  const std::int64_t now = 1'700'000'000, window = 90 * 86400;
  // The fill is the 10^5-document stream of the issue: every decision is checked against the
  // generator's (a re-edit may point to another copy of its original, which counts as right).
  std::int64_t wrong = 0;
  std::map<std::string, std::string> original_of;
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    const vnawire::testing::StreamItem item = stream.next();
    const Prepared doc = prepare(item, options);
    NearRequest near{&doc.signature, &options, now, window};
    const Checked checked = store.check_and_record(doc.id, doc.text_fingerprint, "", &near);
    if (item.expected == "near_duplicate") original_of[item.id] = item.of;
    if (!checked.outcome) {
      ++wrong;
      continue;
    }
    const std::string& of = checked.outcome->of;
    const std::string root = original_of.contains(of) ? original_of[of] : of;
    if (decision_name(checked.outcome->decision) != item.expected || root != item.of) ++wrong;
  }
  state.counters["wrong_decisions_in_fill"] = static_cast<double>(wrong);
  for (auto _ : state) {
    const Prepared doc = prepare(stream.next(), options);
    NearRequest near{&doc.signature, &options, now, window};
    benchmark::DoNotOptimize(store.check_and_record(doc.id, doc.text_fingerprint, "", &near));
  }
  state.SetItemsProcessed(state.iterations());
  // Blocks in use, not the file size: with a write map the file is as large as the map.
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    struct stat info {};
    if (::stat(entry.path().c_str(), &info) == 0) bytes += static_cast<std::uintmax_t>(info.st_blocks) * 512;
  }
  state.counters["disk_bytes_per_doc"] =
      static_cast<double>(bytes) / static_cast<double>(state.range(0) + state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DedupeLookupInsert)
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Args({10000, 2})
    ->Args({100000, 0})
    ->Args({1000000, 0})  // about 5 minutes to fill: --benchmark_filter=/10000/ for the quick ones
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(5000);

}  // namespace

BENCHMARK_MAIN();
