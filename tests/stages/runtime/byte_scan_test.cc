// The sixteen-bytes-at-a-time scans of byte_scan.h against their plain definitions.
#include "stages/runtime/byte_scan.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace vnawire::runtime {
namespace {

TEST(ByteScan, FindByteOfFindsTheFirstOfItsSetAtEveryOffset) {
  for (std::size_t length = 0; length <= 48; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      // `at == length`: none of the set in the text.
      std::string text(length, 'x');
      for (const char mark : {',', ';', '.'}) {
        if (at < length) text[at] = mark;
        if (at + 1 < length) text[at + 1] = ',';  // a later one must not be taken instead
        const char* found = find_byte_of(text.data(), text.data() + text.size(), ',', ';', '.');
        EXPECT_EQ(static_cast<std::size_t>(found - text.data()), at) << length << " " << at << " " << mark;
      }
    }
  }
  // Bytes of the set's high half and a set of two (a byte passed twice).
  const std::string text = "abc\xC3\xA9 (d";
  EXPECT_EQ(find_byte_of(text.data(), text.data() + text.size(), '\xA9', '\xA9', '\xA9') - text.data(), 4);
  EXPECT_EQ(find_byte_of(text.data(), text.data() + text.size(), ' ', '(', ' ') - text.data(), 5);
  EXPECT_EQ(find_byte_of(text.data() + 6, text.data() + text.size(), ' ', '(', ' ') - text.data(), 6);
}

TEST(ByteScan, BitCountCountsEverySetBit) {
  const auto naive = [](std::uint64_t x) {
    unsigned n = 0;
    for (; x != 0; x >>= 1) n += static_cast<unsigned>(x & 1);
    return n;
  };
  for (std::uint64_t x = 0; x <= 0xFFFF; ++x) ASSERT_EQ(bit_count(x), naive(x)) << x;
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 1000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    ASSERT_EQ(bit_count(x), naive(x)) << x;
  }
  EXPECT_EQ(bit_count(~std::uint64_t{0}), 64u);
  static_assert(bit_count(0x8000000000000001ull) == 2);
}

}  // namespace
}  // namespace vnawire::runtime
