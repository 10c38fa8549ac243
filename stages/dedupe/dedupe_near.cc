// MinHash with LSH banding and SimHash over word shingles; candidates are verified on the shingles.
#include "stages/dedupe/dedupe_near.h"

#include <xxhash.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <utility>

#include "stages/runtime/byte_scan.h"

namespace vnawire::dedupe {
namespace {

// splitmix64: a cheap, well-mixed permutation of 64-bit values, one per seed.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// MinHash permutations as multiply-add on the already well-mixed shingle hash: a cycle each instead of a
// full mix, and the minima stay independent enough for banding. Fixed seeds, so signatures are stable
// across runs; computed once for the most permutations the options allow (512 bands x 32 rows).
struct Permutation {
  std::uint64_t multiplier, offset;
};

const std::vector<Permutation>& minhash_permutations() {
  static const std::vector<Permutation> table = [] {
    std::vector<Permutation> out(512 * 32);
    for (std::size_t p = 0; p < out.size(); ++p) out[p] = {mix(2 * p + 1) | 1, mix(2 * p + 2)};
    return out;
  }();
  return table;
}

bool is_key_number(const std::string& word) {
  std::size_t digits = 0;
  while (digits < word.size() && std::isdigit(static_cast<unsigned char>(word[digits]))) ++digits;
  if (digits == 0) return false;
  if (digits == word.size()) {  // a year
    if (digits != 4) return false;
    return word.starts_with("19") || word.starts_with("20");
  }
  const std::string suffix = word.substr(digits);  // an ordinal: 30e, 4eme, 1er, 21st
  return suffix == "e" || suffix == "er" || suffix == "re" || suffix == "eme" || suffix == "th" || suffix == "st" ||
         suffix == "nd" || suffix == "rd";
}

template <typename T>
void sort_unique(std::vector<T>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

// A dispatch's few hundred shingle hashes are random 32-bit numbers, where a comparison sort mispredicts
// about every other branch: four counting passes over one byte each (least significant first) sort them
// without a comparison. The same order as std::sort.
void sort_unique(std::vector<std::uint32_t>& values) {
  if (values.size() < 64) {
    std::sort(values.begin(), values.end());
  } else {
    std::array<std::array<std::uint32_t, 256>, 4> counts{};
    for (const std::uint32_t v : values) {
      for (int pass = 0; pass < 4; ++pass) ++counts[pass][(v >> (8 * pass)) & 0xff];
    }
    std::vector<std::uint32_t> other(values.size());
    for (int pass = 0; pass < 4; ++pass) {
      std::uint32_t at = 0;
      for (std::uint32_t& count : counts[pass]) at += std::exchange(count, at);  // counts become offsets
      for (const std::uint32_t v : values) other[counts[pass][(v >> (8 * pass)) & 0xff]++] = v;
      values.swap(other);
    }
  }
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

// How many elements sorted, distinct a and b share, merging from a[i] and b[j] on.
template <typename T>
std::size_t common(const std::vector<T>& a, const std::vector<T>& b, std::size_t i = 0, std::size_t j = 0) {
  std::size_t n = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++n, ++i, ++j;
    }
  }
  return n;
}

// Sorted, distinct 32-bit shingles (the verification of every candidate): four against four at a time,
// each of a's four compared with b's four in all four rotations, the block with the smaller last value
// moving on (both when equal). A scalar merge mispredicted about every other comparison on random hashes,
// and a page's verification merges thousands. Each element of a matches at most one of b, in the one block
// of b it is compared with when it could match, so every match is counted once; the rest is merged one
// by one.
std::size_t common(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  std::size_t n = 0, i = 0, j = 0;
#if defined(__SSE2__)
  while (i + 4 <= a.size() && j + 4 <= b.size()) {
    const __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.data() + i));
    const __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.data() + j));
    __m128i equal = _mm_cmpeq_epi32(va, vb);
    equal = _mm_or_si128(equal, _mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, _MM_SHUFFLE(0, 3, 2, 1))));
    equal = _mm_or_si128(equal, _mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, _MM_SHUFFLE(1, 0, 3, 2))));
    equal = _mm_or_si128(equal, _mm_cmpeq_epi32(va, _mm_shuffle_epi32(vb, _MM_SHUFFLE(2, 1, 0, 3))));
    // The lanes that matched, one bit each, counted by table: std::popcount is a library call here, and
    // runtime::bit_count's dozen instructions were 8% more of dedupe's instructions on pages (measured).
    static constexpr std::uint8_t kLanes[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
    n += kLanes[_mm_movemask_ps(_mm_castsi128_ps(equal))];
    const std::uint32_t a_last = a[i + 3], b_last = b[j + 3];
    i += a_last <= b_last ? 4 : 0;
    j += b_last <= a_last ? 4 : 0;
  }
#endif
  return n + common<std::uint32_t>(a, b, i, j);
}

}  // namespace

NearSignature near_signature(const std::vector<std::string>& words, const NearOptions& options) {
  NearSignature signature;
  const std::size_t k = static_cast<std::size_t>(std::max(1, options.shingle_words));
  if (words.empty()) return signature;
  // A text shorter than one shingle is one shingle of all it has.
  const std::size_t count = words.size() >= k ? words.size() - k + 1 : 1;
  // Full 64-bit hashes feed MinHash and SimHash; the index keeps their low 32 bits.
  // A shingle's hash is of its words each followed by a space. The words are written so once, end to end,
  // and each shingle hashed where it lies: no shingle is copied.
  std::string joined;
  std::vector<std::size_t> starts;  // of each word in `joined`, and its end
  starts.reserve(words.size() + 1);
  std::size_t bytes = 0;
  for (const std::string& word : words) bytes += word.size() + 1;
  joined.reserve(bytes);
  for (const std::string& word : words) {
    starts.push_back(joined.size());
    joined.append(word).push_back(' ');
  }
  starts.push_back(joined.size());
  std::vector<std::uint64_t> hashes;
  hashes.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t from = starts[i], to = starts[std::min(words.size(), i + k)];
    hashes.push_back(XXH3_64bits(joined.data() + from, to - from));
  }
  // MinHash needs no order and ignores repeats; SimHash weighs each distinct shingle once.
  if (options.method == NearMethod::SimHash) sort_unique(hashes);
  signature.shingles.reserve(hashes.size());
  for (std::uint64_t hash : hashes) signature.shingles.push_back(static_cast<std::uint32_t>(hash));
  sort_unique(signature.shingles);
  const auto word_hash = [&](std::size_t i) -> std::uint64_t {
    return i < words.size() ? XXH3_64bits(words[i].data(), words[i].size()) | 1 : 0;  // 0: no word there
  };
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (is_key_number(word)) {
      signature.key_numbers.insert(signature.key_numbers.end(),
                                   {word_hash(i), i > 0 ? word_hash(i - 1) : 0, word_hash(i + 1)});
    }
    // "09" and "9" are one number: one outlet writes "le 09 septembre", another "le 9". Numbers of one
    // digit are left out: list items and small counts agree by chance between unrelated texts.
    std::string_view number = word;
    while (number.size() > 1 && number[0] == '0') number.remove_prefix(1);
    if (number.size() >= 2 && std::isdigit(static_cast<unsigned char>(number[0])) &&
        std::isdigit(static_cast<unsigned char>(number[1]))) {
      signature.numbers.push_back(XXH3_64bits(number.data(), number.size()));
    }
  }
  sort_unique(signature.numbers);

  if (options.method == NearMethod::MinHash) {
    const int permutations = std::min(options.bands * options.rows, 512 * 32);
    std::vector<std::uint64_t> minima(static_cast<std::size_t>(permutations),
                                      std::numeric_limits<std::uint64_t>::max());
    const std::vector<Permutation>& permutations_table = minhash_permutations();
    // One permutation at a time over all shingles: the minimum stays in a register, four running at once.
    for (std::size_t p = 0; p < minima.size(); ++p) {
      const std::uint64_t multiplier = permutations_table[p].multiplier, offset = permutations_table[p].offset;
      std::uint64_t m[4] = {minima[p], minima[p], minima[p], minima[p]};
      std::size_t i = 0;
      for (; i + 4 <= hashes.size(); i += 4) {
        for (std::size_t lane = 0; lane < 4; ++lane) {
          m[lane] = std::min(m[lane], multiplier * hashes[i + lane] + offset);
        }
      }
      for (; i < hashes.size(); ++i) m[0] = std::min(m[0], multiplier * hashes[i] + offset);
      minima[p] = std::min(std::min(m[0], m[1]), std::min(m[2], m[3]));
    }
    for (int band = 0; band < options.bands; ++band) {
      std::uint64_t key = mix(static_cast<std::uint64_t>(band) + 0x51ed270b27a3c0deULL);
      for (int row = 0; row < options.rows; ++row)
        key = mix(key ^ minima[static_cast<std::size_t>(band * options.rows + row)]);
      signature.band_keys.push_back(key);
    }
  } else if (options.method == NearMethod::SimHash) {
    int weights[64] = {};
    for (std::uint64_t shingle : hashes) {
      const std::uint64_t bits = mix(shingle);
      for (int b = 0; b < 64; ++b) weights[b] += (bits >> b) & 1 ? 1 : -1;
    }
    for (int b = 0; b < 64; ++b) {
      if (weights[b] > 0) signature.simhash |= std::uint64_t{1} << b;
    }
    // Four 16-bit blocks: two hashes within 3 bits agree on at least one (pigeonhole).
    for (std::uint64_t block = 0; block < 4; ++block) {
      const std::uint64_t value = (signature.simhash >> (16 * block)) & 0xffff;
      signature.band_keys.push_back(mix((block << 16 | value) + 0x51a5b10c4ULL));
    }
  }
  return signature;
}

namespace {

template <typename T>
double containment_of(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.empty() || b.empty()) return 0.0;
  return static_cast<double>(common(a, b)) / static_cast<double>(std::min(a.size(), b.size()));
}

}  // namespace

double containment(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  return containment_of(a, b);
}

double containment(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  return containment_of(a, b);
}

double jaccard(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  if (a.empty() && b.empty()) return 1.0;
  const std::size_t n = common(a, b);
  return static_cast<double>(n) / static_cast<double>(a.size() + b.size() - n);
}

int hamming(std::uint64_t a, std::uint64_t b) { return static_cast<int>(runtime::bit_count(a ^ b)); }

bool numbers_contradict(const NearSignature& a, const NearSignature& b) {
  const auto& x = a.key_numbers;
  const auto& y = b.key_numbers;
  const auto names = [](const std::vector<std::uint64_t>& triples, std::uint64_t number) {
    for (std::size_t i = 0; i + 2 < triples.size(); i += 3) {
      if (triples[i] == number) return true;
    }
    return false;
  };
  for (std::size_t i = 0; i + 2 < x.size(); i += 3) {
    if (names(y, x[i])) continue;
    for (std::size_t j = 0; j + 2 < y.size(); j += 3) {
      if (names(x, y[j])) continue;
      const bool same_before = x[i + 1] != 0 && x[i + 1] == y[j + 1];
      const bool same_after = x[i + 2] != 0 && x[i + 2] == y[j + 2];
      if (same_before || same_after) return true;
    }
  }
  return false;
}

bool numbers_differ(const NearSignature& a, const NearSignature& b) {
  // Fewer numbers than this say too little: a text with few figures is judged on its words alone.
  constexpr std::size_t kEnough = 3;
  // Copies measured share 3 numbers in 4 or more (an edit changes one figure, a cut drops a paragraph);
  // template bulletins, whose small counts and the year agree by chance, up to two in three.
  constexpr double kShared = 0.75;
  if (a.numbers.size() < kEnough || b.numbers.size() < kEnough) return false;
  return containment(a.numbers, b.numbers) < kShared;
}

double near_similarity(const NearSignature& document, const NearSignature& candidate, const NearOptions& options) {
  if (options.method == NearMethod::SimHash &&
      hamming(document.simhash, candidate.simhash) > options.simhash_max_distance) {
    return 0.0;
  }
  // A few words found in a longer text say nothing: a headline alone, a caption left over once the
  // boilerplate is gone. Such texts are matched exactly or not at all.
  constexpr std::size_t kFewestShingles = 10;
  if (std::min(document.shingles.size(), candidate.shingles.size()) < kFewestShingles) return 0.0;
  if (numbers_contradict(document, candidate)) return 0.0;
  const double similarity = containment(document.shingles, candidate.shingles);
  if (similarity < options.threshold || numbers_differ(document, candidate)) return 0.0;
  return similarity;
}

}  // namespace vnawire::dedupe
