// Damaged state: every durable file of a stopped pipeline truncated or bit-flipped, then a restart. The
// pipeline must start, say what it set aside, and go on storing new documents once each.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

void flip_bytes(const std::filesystem::path& file, double at, std::size_t count) {
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_FALSE(bytes.empty()) << file;
  const auto from = static_cast<std::size_t>(static_cast<double>(bytes.size()) * at);
  for (std::size_t i = from; i < std::min(bytes.size(), from + count); ++i)
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

void truncate_to_half(const std::filesystem::path& file) {
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
}

TEST(CorruptState, ThePipelineStartsOnDamagedFilesSaysWhatItSetAsideAndGoesOn) {
  TempDir dir;
  write_inbox(dir, 0, 30);
  std::string yaml = whole_pipeline_yaml(dir, "");
  yaml.replace(yaml.find("    type: dedupe\n"), 17, "    type: dedupe\n    options: {action: tag, near_action: tag}\n");
  write_file(dir / "pipeline.yaml", yaml);
  const auto sink = dir / "state/out.jsonl";
  {
    Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
    ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 30; }, seconds(60))) << daemon.errors();
    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  }
  const auto state = dir / "state";
  truncate_to_half(state / "fetch/fetch-state.sqlite");
  flip_bytes(state / "fetch/outbox.0.journal", 0.5, 64);
  // Both meta pages (the first 8 KB): LMDB finds no valid one. (Flipping the B-tree's pages instead is caught only
  // when the damage lands on pages in use, which depends on the run; the child-process open covers LMDB's aborts.)
  flip_bytes(state / "dedupe/fingerprints.lmdb/data.mdb", 0.0, 8192);
  truncate_to_half(state / "dedupe/fingerprints.lmdb/index.snapshot.bands");
  flip_bytes(state / "out.jsonl.keys", 0.5, 8);
  std::ofstream(state / "deadletter/extract.0.jsonl", std::ios::app) << "{\"v\":2,\"cut short\n";

  write_inbox(dir, 30, 40);
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  ASSERT_TRUE(wait_until([&] { return stored_urls(sink).size() >= 40; }, seconds(90))) << daemon.errors();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  const std::string log = daemon.errors();
  for (const char* said : {"the fetch state", "is damaged", "the fingerprint store is damaged",
                           "outbox.0.journal: ", "out.jsonl.keys: ", "deadletter/extract.0.jsonl: set aside"}) {
    EXPECT_NE(log.find(said), std::string::npos) << "not said: " << said << "\n" << log;
  }
  for (const char* aside : {"fetch/fetch-state.sqlite.damaged", "dedupe/fingerprints.lmdb.damaged",
                            "fetch/outbox.0.journal.damaged", "deadletter/extract.0.jsonl.damaged"}) {
    EXPECT_TRUE(std::filesystem::exists(state / aside)) << aside;
  }
  // Every dispatch, old and new, is in the sink; the old ones fetched again were not written twice.
  const auto urls = stored_urls(sink);
  EXPECT_EQ(urls.size(), 40u);
  for (const auto& [url, times] : urls) EXPECT_EQ(times, 1) << url;
}

}  // namespace
}  // namespace vnawire::testing
