// The hash of extract's word tables: a dispatch asks them some 2,500 times for words of a few bytes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

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

// A word table for the ones filled while a document is read (its vocabulary, the chunks known to need
// no repair): open addressing over one array of slots, the words' bytes in one buffer. A std::unordered_map
// there allocated a node and often a string per word, divided by a prime at every look-up and chased a
// pointer per node; here a look-up is a multiplication, a mask and, mostly, one slot and one compare.
// Words are never removed one at a time (clear() forgets all). V is a small value type.
template <class V>
class FlatWordMap {
 public:
  // The value of `word`, or nullptr.
  const V* find(std::string_view word) const {
    if (entries_.empty()) return nullptr;
    const Slot slot = slots_[probe(word, word_hash(word))];
    return slot.entry == 0 ? nullptr : &entries_[slot.entry - 1].value;
  }
  V* find(std::string_view word) { return const_cast<V*>(static_cast<const FlatWordMap&>(*this).find(word)); }
  bool contains(std::string_view word) const { return find(word) != nullptr; }

  // The value of `word`, added as `value` when absent. The reference (like find()'s pointer) is valid
  // until the next word is added.
  V& try_emplace(std::string_view word, V value) {
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    const std::uint64_t h = word_hash(word);
    Slot& slot = slots_[probe(word, h)];
    if (slot.entry != 0) return entries_[slot.entry - 1].value;
    slot = Slot{tag(h), static_cast<std::uint32_t>(entries_.size() + 1)};
    entries_.push_back(Entry{h, bytes_.size(), word.size(), std::move(value)});
    bytes_.append(word);
    return entries_.back().value;
  }

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() {
    slots_.clear();
    entries_.clear();
    bytes_.clear();
    mask_ = 0;
  }
  // f(std::string_view word, const V& value) for every word, in the order added.
  template <class F>
  void for_each(F&& f) const {
    for (const Entry& entry : entries_) f(std::string_view(bytes_.data() + entry.offset, entry.size), entry.value);
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;    // the hash's high half: most other words are told apart here
    std::uint32_t entry = 0;  // 1 + index in entries_; 0: empty
  };
  struct Entry {
    std::uint64_t hash;
    std::size_t offset, size;  // in bytes_
    V value;
  };
  static std::uint32_t tag(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32); }

  // The slot holding `word` (hash h), or the empty slot where it would go. Needs at least one slot.
  std::size_t probe(std::string_view word, std::uint64_t h) const {
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot slot = slots_[i];
      if (slot.entry == 0) return i;
      if (slot.tag != tag(h)) continue;
      const Entry& entry = entries_[slot.entry - 1];
      if (entry.size == word.size() && std::memcmp(bytes_.data() + entry.offset, word.data(), word.size()) == 0) {
        return i;
      }
    }
  }

  // Twice the slots (at least 64), every entry placed again: at most half the slots are ever used.
  void grow() {
    const std::size_t n = std::max<std::size_t>(64, slots_.size() * 2);
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    for (std::size_t e = 0; e < entries_.size(); ++e) {
      std::size_t i = entries_[e].hash & mask_;
      while (slots_[i].entry != 0) i = (i + 1) & mask_;
      slots_[i] = Slot{tag(entries_[e].hash), static_cast<std::uint32_t>(e + 1)};
    }
  }

  std::vector<Slot> slots_;
  std::vector<Entry> entries_;
  std::string bytes_;
  std::size_t mask_ = 0;
};

}  // namespace vnawire::extract
