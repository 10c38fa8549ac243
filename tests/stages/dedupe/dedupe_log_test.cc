// The dedupe log's record format: what is encoded decodes the same, into a fresh record or a used one.
#include "stages/dedupe/dedupe_log.h"

#include <gtest/gtest.h>

namespace vnawire::dedupe {
namespace {

Record record_with(std::string id, std::size_t shingles, bool signature) {
  Record record;
  record.time = 1700000000 + static_cast<std::int64_t>(shingles);
  record.kind = signature ? RecordKind::Version : RecordKind::NearCopy;
  record.text_fingerprint = std::string(32, 'a');
  record.url_fingerprint = shingles % 2 == 0 ? std::string(32, 'b') : std::string();
  record.id = std::move(id);
  if (signature) {
    NearSignature& s = record.signature.emplace();
    for (std::size_t i = 0; i < shingles; ++i) s.shingles.push_back(static_cast<std::uint32_t>(i * 7919 + 1));
    s.numbers = {2024, 30};
    s.key_numbers = {11, 12, 13};
    s.band_keys.assign(shingles % 5 + 1, 99);
    s.simhash = 0xABCDEF;
  }
  return record;
}

void expect_same(const Record& a, const Record& b) {
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.text_fingerprint, b.text_fingerprint);
  EXPECT_EQ(a.url_fingerprint, b.url_fingerprint);
  EXPECT_EQ(a.id, b.id);
  ASSERT_EQ(a.signature.has_value(), b.signature.has_value());
  if (!a.signature) return;
  EXPECT_EQ(a.signature->shingles, b.signature->shingles);
  EXPECT_EQ(a.signature->numbers, b.signature->numbers);
  EXPECT_EQ(a.signature->key_numbers, b.signature->key_numbers);
  EXPECT_EQ(a.signature->band_keys, b.signature->band_keys);
  EXPECT_EQ(a.signature->simhash, b.signature->simhash);
}

TEST(DedupeLog, ARecordDecodedIntoAUsedOneIsExactlyTheNewRecord) {
  // Candidates are read one after another into one record: larger, smaller, without a signature, again.
  Record reused;
  for (const auto& [id, shingles, signature] :
       {std::tuple{"a", 5000, true}, std::tuple{"bb", 12, true}, std::tuple{"c", 0, false},
        std::tuple{"dddd", 700, true}, std::tuple{"e", 0, true}}) {
    const Record original = record_with(id, static_cast<std::size_t>(shingles), signature);
    const std::string bytes = encode_record(original);
    ASSERT_TRUE(decode_record_into(bytes, reused)) << id;
    expect_same(reused, original);
    const std::optional<Record> fresh = decode_record(bytes);
    ASSERT_TRUE(fresh.has_value());
    expect_same(*fresh, original);
  }
}

TEST(DedupeLog, BandKeysAreKeptAsTheTagsTheBandTableUses) {
  Record record = record_with("tags", 30, true);
  record.signature->band_keys = {0x1234'5678'9abc'def0ULL, 0xffff'ffff'0000'0001ULL, 7};
  const std::string bytes = encode_record(record);
  EXPECT_EQ(bytes.size(), encode_record(record_with("tags", 30, false)).size() + 30 * 4 + 2 * 8 + 3 * 8 + 3 * 4);
  const std::optional<Record> read = decode_record(bytes);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->signature->band_keys, (std::vector<std::uint64_t>{0x9abc'def0ULL, 0x0000'0001ULL, 7}));
  EXPECT_EQ(read->signature->shingles, record.signature->shingles);
}

TEST(DedupeLog, RecordsWrittenWithWideBandKeysStillDecode) {
  // The format before narrow tags: the signature byte (after the time, the SimHash and the kind) was 1
  // and each band key took 8 bytes, at the end of the record.
  Record record = record_with("wide", 12, true);
  record.signature->band_keys = {0x1111'2222'3333'4444ULL, 0x5555'6666'7777'8888ULL};
  std::string bytes = encode_record(record);
  bytes.resize(bytes.size() - 2 * sizeof(std::uint32_t));
  for (const std::uint64_t key : record.signature->band_keys) bytes.append(reinterpret_cast<const char*>(&key), 8);
  bytes[17] = 1;
  const std::optional<Record> read = decode_record(bytes);
  ASSERT_TRUE(read.has_value());
  expect_same(*read, record);
  bytes[17] = 3;  // no such format
  EXPECT_FALSE(decode_record(bytes).has_value());
}

TEST(DedupeLog, BytesThatAreNotARecordLeaveTheRecordAsItWas) {
  const Record original = record_with("kept", 40, true);
  Record record = original;
  const std::string bytes = encode_record(record_with("other", 41, true));
  for (const std::string& bad : {std::string(), bytes.substr(0, 10), bytes.substr(0, bytes.size() - 1), bytes + "x"}) {
    EXPECT_FALSE(decode_record_into(bad, record)) << bad.size();
    expect_same(record, original);
  }
}

}  // namespace
}  // namespace vnawire::dedupe
