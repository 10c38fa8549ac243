// The band table: growth keeps every entry, crowded keys keep their newest, expiry and removal, snapshots;
// and the store around it: a restart without a snapshot, a stale snapshot, two replicas on one store,
// group commits (a crash forgets only the open group; a full map fails one document, not its group).
#include "stages/dedupe/dedupe_band_table.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "stages/dedupe/dedupe_near.h"
#include "stages/dedupe/dedupe_normalize.h"
#include "stages/dedupe/dedupe_store.h"
#include "tests/stages/dedupe/dedupe_stream.h"

namespace vnawire::dedupe {
namespace {

std::vector<std::uint64_t> keys_of(std::uint32_t number) {
  std::mt19937_64 random(number);
  std::vector<std::uint64_t> keys(32);
  for (auto& key : keys) key = random();
  return keys;
}

// Found under each of its 32 keys (a narrow table may find other numbers too, whose keys share a tag).
template <typename Table>
bool finds(const Table& table, std::uint32_t number) {
  std::vector<std::uint32_t> found;
  table.lookup(keys_of(number), 32, found);
  return std::count(found.begin(), found.end(), number) == 32;
}

// Every behaviour holds for both slot widths.
template <typename Table>
class DedupeHashTable : public ::testing::Test {};
using TableTypes = ::testing::Types<BandTable, ExactTable>;
TYPED_TEST_SUITE(DedupeHashTable, TableTypes);

TYPED_TEST(DedupeHashTable, GrowingKeepsEveryEntryFindableAtEveryStep) {
  TypeParam table;
  std::uint64_t capacity = 0;
  int growths = 0;
  for (std::uint32_t number = 0; number < 40'000; ++number) {
    table.insert(keys_of(number), number, 32);
    if (table.capacity() != capacity) ++growths, capacity = table.capacity();
    // While the old table drains, entries live in one table or the other: all stay found.
    if (number % 997 == 0) {
      for (std::uint32_t earlier = 0; earlier <= number; earlier += 211) ASSERT_TRUE(finds(table, earlier)) << earlier;
    }
  }
  EXPECT_GE(growths, 5);
  for (std::uint32_t number = 0; number < 40'000; number += 7) EXPECT_TRUE(finds(table, number)) << number;
  EXPECT_LE(static_cast<double>(table.used_slots()), 0.75 * static_cast<double>(table.capacity()));
}

TYPED_TEST(DedupeHashTable, ACrowdedKeyKeepsItsNewestNumbersOnly) {
  TypeParam table;
  const std::vector<std::uint64_t> common{0x1234567890abcdefULL};
  for (std::uint32_t number = 0; number < 100; ++number) table.insert(common, number, 8);
  std::vector<std::uint32_t> found;
  table.lookup(common, 8, found);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::uint32_t>{92, 93, 94, 95, 96, 97, 98, 99}));
  EXPECT_LT(table.used_slots(), 20u) << "the chain stays short";
}

TYPED_TEST(DedupeHashTable, RemovedAndExpiredNumbersAreNotFoundAndTheirSlotsAreReused) {
  TypeParam table;
  for (std::uint32_t number = 0; number < 100; ++number) table.insert(keys_of(number), number, 32);
  table.remove(keys_of(50), 50);
  EXPECT_FALSE(finds(table, 50));
  EXPECT_TRUE(finds(table, 51));
  table.set_first_live(60);
  EXPECT_FALSE(finds(table, 59));
  EXPECT_TRUE(finds(table, 60));
  const std::uint64_t used = table.used_slots();
  for (std::uint32_t number = 100; number < 150; ++number) table.insert(keys_of(number), number, 32);
  EXPECT_LT(table.used_slots(), used + 50 * 32) << "expired and removed slots are filled again";
  for (std::uint32_t number = 60; number < 150; ++number) EXPECT_EQ(finds(table, number), number != 50) << number;
}

TYPED_TEST(DedupeHashTable, ASnapshotRoundTripsAndADamagedOneIsRefused) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  TypeParam table;
  for (std::uint32_t number = 0; number < 5000; ++number) table.insert(keys_of(number), number, 32);
  table.set_first_live(10);
  table.set_indexed_next(5000);
  ASSERT_TRUE(table.save(dir / "bands").ok());
  TypeParam loaded;
  ASSERT_TRUE(loaded.load(dir / "bands"));
  EXPECT_EQ(loaded.indexed_next(), 5000u);
  EXPECT_EQ(loaded.first_live(), 10u);
  EXPECT_FALSE(finds(loaded, 9));
  for (std::uint32_t number = 10; number < 5000; number += 13) EXPECT_TRUE(finds(loaded, number)) << number;
  std::filesystem::resize_file(dir / "bands", std::filesystem::file_size(dir / "bands") - 8);
  EXPECT_FALSE(loaded.load(dir / "bands"));
  EXPECT_EQ(loaded.indexed_next(), 0u);
  EXPECT_FALSE(finds(loaded, 100));
  std::ofstream(dir / "bands", std::ios::trunc) << "not a snapshot";
  EXPECT_FALSE(loaded.load(dir / "bands"));
  EXPECT_FALSE(loaded.load(dir / "missing"));
  std::filesystem::remove_all(dir);
}

TEST(DedupeBandTable, KeysSharingATagFindEachOtherAndExactKeysNever) {
  const std::vector<std::uint64_t> one{0x100000005ULL}, other{0x200000005ULL};
  BandTable bands;
  ExactTable exact;
  for (std::uint32_t number : {1u, 2u}) {
    bands.insert(number == 1 ? one : other, number, 8);
    exact.insert(number == 1 ? one : other, number, 1);
  }
  std::vector<std::uint32_t> found;
  bands.lookup(one, 8, found);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::uint32_t>{1, 2})) << "the caller verifies what a tag finds";
  found.clear();
  exact.lookup(one, 8, found);
  EXPECT_EQ(found, std::vector<std::uint32_t>{1}) << "one number per key survives a key sharing its low bits";
}

TEST(DedupeBandTable, ASnapshotOfTheOtherWidthIsRefused) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  ExactTable exact;
  exact.insert(keys_of(1), 1, 32);
  ASSERT_TRUE(exact.save(dir / "table").ok());
  BandTable bands;
  EXPECT_FALSE(bands.load(dir / "table"));
  std::filesystem::remove_all(dir);
}

// Originals and re-edits of them from the generated stream, signed.
struct Pair {
  std::string id;
  NearSignature original, reedit;
};

std::vector<Pair> reedited_pairs(int count) {
  testing::DispatchStream stream(11);
  std::map<std::string, NearSignature> originals;
  std::vector<Pair> pairs;
  const NearOptions options;
  while (static_cast<int>(pairs.size()) < count) {
    const testing::StreamItem item = stream.next();
    const NearSignature signature = near_signature(near_duplicate_words(item.body, false), options);
    if (item.expected == "unique") originals[item.id] = signature;
    if (item.expected == "near_duplicate" && originals.contains(item.of)) {
      pairs.push_back({item.of, originals[item.of], signature});
      originals.erase(item.of);
    }
  }
  return pairs;
}

Decision record(FingerprintStore& store, const std::string& id, const NearSignature& signature,
                std::string* of = nullptr) {
  const NearOptions options;
  const NearRequest near{&signature, &options, 1'700'000'000, 90 * 86400};
  const Checked checked = store.check_and_record(id, fingerprint(id), "", &near);
  EXPECT_TRUE(checked.outcome.has_value()) << checked.error;
  if (!checked.outcome) return Decision::Unique;
  if (of != nullptr) *of = checked.outcome->of;
  return checked.outcome->decision;
}

// Each scenario records the originals, then opens the store again in its own way and checks that every
// re-edit still finds its original.
void expect_reedits_found(FingerprintStore& store, const std::vector<Pair>& pairs) {
  for (const Pair& pair : pairs) {
    std::string of;
    EXPECT_EQ(record(store, pair.id + "-reedit", pair.reedit, &of), Decision::NearDuplicate) << pair.id;
    EXPECT_EQ(of, pair.id);
  }
}

TEST(DedupeBandTable, ARestartWithoutItsSnapshotIndexesTheStoreAgain) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  const std::vector<Pair> pairs = reedited_pairs(40);
  {
    FingerprintStore store;
    ASSERT_TRUE(store.open(dir, 64 << 20).ok());
    for (const Pair& pair : pairs) EXPECT_EQ(record(store, pair.id, pair.original), Decision::Unique);
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "index.snapshot.bands")) << "a snapshot is written at close";
  for (const char* table : {"ids", "near_ids", "texts", "urls", "bands"}) {
    std::filesystem::remove(dir / (std::string("index.snapshot.") + table));
  }
  FingerprintStore reopened;
  ASSERT_TRUE(reopened.open(dir, 64 << 20).ok());
  expect_reedits_found(reopened, pairs);
  std::filesystem::remove_all(dir);
}

TEST(DedupeBandTable, AStaleSnapshotIsCaughtUpFromTheStore) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  const std::vector<Pair> pairs = reedited_pairs(40);
  {
    FingerprintStore store;
    ASSERT_TRUE(store.open(dir, 64 << 20).ok());
    for (std::size_t i = 0; i < 20; ++i) record(store, pairs[i].id, pairs[i].original);
  }
  std::filesystem::create_directory(dir / "stale");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().starts_with("index.snapshot.")) {
      std::filesystem::copy_file(entry.path(), dir / "stale" / entry.path().filename());
    }
  }
  {
    FingerprintStore store;
    ASSERT_TRUE(store.open(dir, 64 << 20).ok());
    for (std::size_t i = 20; i < pairs.size(); ++i) record(store, pairs[i].id, pairs[i].original);
  }
  // A crash after the last 20 were committed but before the next snapshot.
  for (const auto& entry : std::filesystem::directory_iterator(dir / "stale")) {
    std::filesystem::rename(entry.path(), dir / entry.path().filename());
  }
  FingerprintStore reopened;
  ASSERT_TRUE(reopened.open(dir, 64 << 20).ok());
  expect_reedits_found(reopened, pairs);
  std::filesystem::remove_all(dir);
}

TEST(DedupeBandTable, TwoReplicasOnOneStoreSeeEachOthersDocuments) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  const std::vector<Pair> pairs = reedited_pairs(30);
  FingerprintStore a, b;
  ASSERT_TRUE(a.open(dir, 64 << 20).ok());
  ASSERT_TRUE(b.open(dir, 64 << 20).ok());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    // Originals through one replica, their re-edits through the other, alternately.
    FingerprintStore& first = i % 2 == 0 ? a : b;
    FingerprintStore& second = i % 2 == 0 ? b : a;
    EXPECT_EQ(record(first, pairs[i].id, pairs[i].original), Decision::Unique);
    std::string of;
    EXPECT_EQ(record(second, pairs[i].id + "-reedit", pairs[i].reedit, &of), Decision::NearDuplicate) << i;
    EXPECT_EQ(of, pairs[i].id);
  }
  std::filesystem::remove_all(dir);
}

TEST(DedupeBandTable, NumbersGoOnAfterExpiryEmptiedTheLog) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  const std::vector<Pair> pairs = reedited_pairs(4);
  FingerprintStore store;
  ASSERT_TRUE(store.open(dir, 64 << 20).ok());
  for (std::size_t i = 0; i < 3; ++i) record(store, pairs[i].id, pairs[i].original);
  ASSERT_EQ(*store.expire(1'700'000'000 + 200 * 86400, 90 * 86400, 100), 3);
  // Were numbers to start again at 0, the new record would sit below the expired ones and be ignored.
  EXPECT_EQ(record(store, pairs[3].id, pairs[3].original), Decision::Unique);
  std::string of;
  EXPECT_EQ(record(store, pairs[3].id + "-reedit", pairs[3].reedit, &of), Decision::NearDuplicate);
  EXPECT_EQ(of, pairs[3].id);
  std::filesystem::remove_all(dir);
}

TEST(DedupeBandTable, AGroupSeesItsOwnDecisionsAndACrashForgetsOnlyTheOpenGroup) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  const std::vector<Pair> pairs = reedited_pairs(21);
  // A child records 20 originals in groups of 8 and dies without closing the store: 16 were committed.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    FingerprintStore store;
    bool ok = store.open(dir, 64 << 20, 8).ok();
    for (std::size_t i = 0; i < 20 && ok; ++i) ok = record(store, pairs[i].id, pairs[i].original) == Decision::Unique;
    // Inside the open group, a re-edit finds an original of the same group.
    std::string of;
    ok = ok && record(store, pairs[17].id + "-reedit", pairs[17].reedit, &of) == Decision::NearDuplicate &&
         of == pairs[17].id;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  FingerprintStore store;
  ASSERT_TRUE(store.open(dir, 64 << 20, 8).ok());
  for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ(record(store, pairs[i].id, pairs[i].original), Decision::Replay) << i;
  for (std::size_t i = 16; i < 20; ++i) EXPECT_EQ(record(store, pairs[i].id, pairs[i].original), Decision::Unique) << i;
  ASSERT_TRUE(store.commit().ok());
  expect_reedits_found(store, std::vector<Pair>(pairs.begin(), pairs.begin() + 20));
  EXPECT_EQ(record(store, pairs[20].id, pairs[20].original), Decision::Unique);
  std::filesystem::remove_all(dir);
}

TEST(DedupeBandTable, AFullMapFailsOneDocumentAndKeepsTheRestOfItsGroup) {
  char pattern[] = "/tmp/vnawire-unit-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  const std::vector<Pair> pairs = reedited_pairs(1500);
  std::size_t recorded = 0;
  {
    FingerprintStore store;
    ASSERT_TRUE(store.open(dir, 1 << 20, 100000).ok());
    for (; recorded < pairs.size(); ++recorded) {
      const NearOptions options;
      const NearRequest near{&pairs[recorded].original, &options, 1'700'000'000, 90 * 86400};
      const Checked checked = store.check_and_record(pairs[recorded].id, fingerprint(pairs[recorded].id), "", &near);
      if (!checked.outcome) {
        EXPECT_NE(checked.error.find("MDB_MAP_FULL"), std::string::npos) << checked.error;
        break;
      }
    }
    ASSERT_GT(recorded, 10u);
    ASSERT_LT(recorded, pairs.size()) << "the map never filled";
    EXPECT_EQ(store.rebuilds(), 0u) << "the group written again must not look like another log";
    const runtime::Status committed = store.commit();
    EXPECT_TRUE(committed.ok()) << committed.message();
  }
  FingerprintStore reopened;
  ASSERT_TRUE(reopened.open(dir, 1 << 20).ok());
  for (std::size_t i = 0; i < recorded; ++i) {
    EXPECT_EQ(record(reopened, pairs[i].id, pairs[i].original), Decision::Replay) << i;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vnawire::dedupe
