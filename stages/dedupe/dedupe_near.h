// Near-duplicate fingerprints: word shingles, MinHash bands or SimHash blocks, and the exact check.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vnawire::dedupe {

enum class NearMethod { MinHash, SimHash, Off };

struct NearOptions {
  NearMethod method = NearMethod::MinHash;
  int shingle_words = 3;
  // MinHash: bands x rows permutations; a pair is a candidate when all rows of one band agree.
  int bands = 32;
  int rows = 1;
  // SimHash: candidates share one of 4 16-bit blocks, so every pair within 3 bits is found; pairs
  // further apart than this are not near duplicates.
  int simhash_max_distance = 3;
  // The exact check: containment of the smaller shingle set in the other.
  double threshold = 0.35;
  // Per-document cost bounds: ids read per bucket (newest first), candidates verified.
  int bucket_scan = 32;
  int max_candidates = 64;
  // MinHash: a candidate must share this many bands to be verified. Unrelated texts meet in one band
  // now and then (a common phrase holds the minimum of one permutation), and more of them the larger the
  // index: 0.3 per document at 10^5 stored, 1.7 at 10^6, each a log read; two shared bands almost never
  // happen by chance, while a pair at the threshold shares 7 of 32 bands on average (docs/dedupe.md).
  int min_shared_bands = 2;
};

// What the index keeps per document, and all the decision needs.
struct NearSignature {
  // Hashes of word shingles, sorted, unique; 32 bits are enough to compare two texts of a few thousand
  // shingles (a chance match in 10^4 pairs) and halve what the index keeps per document.
  std::vector<std::uint32_t> shingles;
  std::vector<std::uint64_t> numbers;  // hashes of numbers of 2 digits or more (no leading 0), sorted, unique
  // Years and ordinals ("2024", "30e") in their place: per occurrence, the hashes of the number, of the
  // word before and of the word after (0 at either end of the text), three values in a row.
  std::vector<std::uint64_t> key_numbers;
  std::vector<std::uint64_t> band_keys;  // index buckets: MinHash bands or SimHash blocks
  std::uint64_t simhash = 0;
};

NearSignature near_signature(const std::vector<std::string>& words, const NearOptions& options);

// |a ∩ b| / min(|a|, |b|): a re-edit that adds or cuts paragraphs, or a copy cut shorter, still scores high.
double containment(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b);
double containment(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b);
double jaccard(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b);
int hamming(std::uint64_t a, std::uint64_t b);

// In the same place, each side names a year or an ordinal the other never does ("la 29e réunion"
// against "la 30e réunion"): the yearly meeting of the same people, not a copy. The place matters: two
// copies cut at different lengths each keep years the other lost, but not in the same phrase.
bool numbers_contradict(const NearSignature& a, const NearSignature& b);

// Bulletins written from one template (prices, weather, the n-th meeting of a series) share their words
// and differ in their numbers: with enough numbers on both sides, most of them must be shared.
bool numbers_differ(const NearSignature& a, const NearSignature& b);

// The similarity a candidate must reach, 0 when it is not a near duplicate for these options.
double near_similarity(const NearSignature& document, const NearSignature& candidate, const NearOptions& options);

}  // namespace vnawire::dedupe
