// The hash of extract's word tables: a dispatch asks them some 2,500 times for words of a few bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

namespace vnawire::extract {

// A word in one or two multiplications, inline: std::hash (MurmurHash2, out of line) cost about 58
// instructions a look-up, more than the rest of the look-up. Every byte and the length count.
inline std::uint64_t word_hash(std::string_view word) {
  const auto* p = reinterpret_cast<const unsigned char*>(word.data());
  std::size_t n = word.size();
  std::uint64_t h = 0x9e3779b97f4a7c15ULL * (n + 1);
  for (; n > 8; p += 8, n -= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  std::uint64_t v = 0;
  if (n >= 4) {  // two reads that overlap cover four to eight bytes
    std::uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    v = (std::uint64_t{a} << 32) | b;
  } else if (n > 0) {
    v = (std::uint64_t{p[0]} << 16) | (std::uint64_t{p[n >> 1]} << 8) | p[n - 1];
  }
  h = (h ^ v) * 0x94d049bb133111ebULL;
  return h ^ (h >> 29);
}

struct WordHash {
  using is_transparent = void;  // asked with a string_view, no string is made
  // Deliberately not noexcept: libstdc++ keeps each node's hash code only for a hash that may throw or
  // that it does not know to be fast, and without the kept code a look-up compares the strings of every
  // node in the bucket (measured: 3.5% more instructions for the whole extraction).
  std::size_t operator()(std::string_view word) const { return static_cast<std::size_t>(word_hash(word)); }
};
static_assert(!std::is_nothrow_invocable_v<const WordHash&, std::string_view>,
              "WordHash must stay potentially-throwing, so that libstdc++ caches hash codes");

template <class V>
using WordMap = std::unordered_map<std::string, V, WordHash, std::equal_to<>>;
using WordSet = std::unordered_set<std::string, WordHash, std::equal_to<>>;

}  // namespace vnawire::extract
