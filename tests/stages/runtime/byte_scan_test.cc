// The sixteen-bytes-at-a-time scans of byte_scan.h against their plain definitions.
#include "stages/runtime/byte_scan.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
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

// Against the plain byte loop, on words of every length across the sixteen-byte steps, at every offset.
TEST(ByteScan, WordEndStopsAtTheFirstBlankAndSaysWhetherTheWordHadNonAsciiOrDigits) {
  std::mt19937 random(7);
  // The bytes either side of the digits too ('/' and ':'); the last five are never inside a long word.
  const std::string alphabet = std::string("abcXYZ.-'/:0123456789") + "\xc3\xa9" + " \t\n\r\x7f";
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const std::size_t size = random() % 70;
    // Half the rounds with few blanks (one in a few hundred bytes), for words longer than a step.
    for (std::size_t k = 0; k < size; ++k) {
      const bool word_byte = round % 2 == 1 && random() % 40 != 0;
      text += alphabet[random() % (word_byte ? alphabet.size() - 5 : alphabet.size())];
    }
    for (std::size_t from = 0; from <= text.size(); ++from) {
      std::size_t want = from;
      bool want_high = false, want_digit = false;
      for (; want < text.size() && text[want] != ' ' && text[want] != '\t' && text[want] != '\n'; ++want) {
        want_high = want_high || static_cast<unsigned char>(text[want]) >= 0x80;
        want_digit = want_digit || (text[want] >= '0' && text[want] <= '9');
      }
      bool high = false, digit = false;
      ASSERT_EQ(word_end(text.data(), from, text.size(), high, digit), want) << "'" << text << "' from " << from;
      EXPECT_EQ(high, want_high) << "'" << text << "' from " << from;
      EXPECT_EQ(digit, want_digit) << "'" << text << "' from " << from;
      bool already_high = true, already_digit = true;  // flags already set stay set
      (void)word_end(text.data(), from, text.size(), already_high, already_digit);
      EXPECT_TRUE(already_high && already_digit);
    }
  }
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
