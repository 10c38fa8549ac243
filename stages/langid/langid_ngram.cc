// Character n-gram naive Bayes: small (a few thousand n-grams per language) and fast (one hash lookup per n-gram).
#include "stages/langid/langid_ngram.h"

#include <unicode/uchar.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <unordered_map>

#include "stages/langid/langid_corpus.h"
#include "stages/langid/langid_script.h"

namespace vnawire::langid {
namespace {

constexpr int kMaxOrder = 4;

// Every language's log-probability for every n-gram seen in training, one lookup per n-gram of the text.
struct Model {
  std::vector<std::string> codes;
  std::unordered_map<std::uint64_t, std::size_t> rows;    // n-gram -> first of codes.size() scores in `scores`
  std::vector<double> scores;                             // weighted log-probabilities, row by row
  std::vector<std::array<double, kMaxOrder + 1>> unseen;  // by language and order: an n-gram never seen
};

bool is_latin_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0x24F && c != 0xF7); }

// The text's Latin words as lower-case code points, each padded with a space on both sides so that
// n-grams see word starts and ends; everything else separates words.
std::u32string padded_words(std::string_view text) {
  std::u32string out = U" ";
  for (std::size_t i = 0; i < text.size();) {
    char32_t c = U' ';  // a byte that is not UTF-8 separates words
    if (next_code_point(text, i, c)) c = static_cast<char32_t>(u_tolower(static_cast<UChar32>(c)));
    if (is_latin_letter(c)) {
      out.push_back(c);
    } else if (out.back() != U' ') {
      out.push_back(U' ');
    }
  }
  if (out.back() != U' ') out.push_back(U' ');
  return out;
}

// Each n-gram (1..4 code points) of `words`, packed 16 bits a code point (Latin letters fit).
template <typename Visit>
void for_each_ngram(const std::u32string& words, Visit visit) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::uint64_t key = 0;
    for (int n = 1; n <= kMaxOrder && i + n <= words.size(); ++n) {
      const char32_t c = words[i + n - 1];
      if (n > 1 && c == U' ' && words[i] == U' ') break;  // "  " spans no word
      key = (key << 16) | (c & 0xFFFF);
      if (n == 1 && c == U' ') continue;  // a lone space says nothing
      visit(key, n);
      if (c == U' ' && n > 1) break;  // an n-gram stops at the end of its word
    }
  }
}

// Add-half smoothing over an assumed vocabulary per order; longer n-grams weigh more as they are rarer and
// more telling.
double weighted_log_probability(double count, double total, int order) {
  const double vocabulary = order == 1 ? 60.0 : order == 2 ? 1500.0 : 20000.0;
  return order * std::log((count + 0.5) / (total + 0.5 * vocabulary));
}

const Model& model() {
  static const Model trained = [] {
    Model out;
    std::vector<std::unordered_map<std::uint64_t, std::uint32_t>> counts;
    std::vector<std::array<double, kMaxOrder + 1>> totals;
    std::unordered_map<std::uint64_t, int> orders;
    for (const auto& [code, text] : kCorpus) {
      out.codes.emplace_back(code);
      auto& seen = counts.emplace_back();
      auto& total = totals.emplace_back();
      total.fill(0);
      for_each_ngram(padded_words(text), [&](std::uint64_t key, int n) {
        ++seen[key];
        total[n] += 1;
        orders[key] = n;
      });
    }
    const std::size_t languages = out.codes.size();
    for (std::size_t l = 0; l < languages; ++l) {
      auto& unseen = out.unseen.emplace_back();
      for (int n = 1; n <= kMaxOrder; ++n) unseen[n] = weighted_log_probability(0, totals[l][n], n);
    }
    for (const auto& [key, n] : orders) {
      out.rows[key] = out.scores.size();
      for (std::size_t l = 0; l < languages; ++l) {
        const auto it = counts[l].find(key);
        out.scores.push_back(weighted_log_probability(it == counts[l].end() ? 0 : it->second, totals[l][n], n));
      }
    }
    return out;
  }();
  return trained;
}

}  // namespace

NgramGuess ngram_language(std::string_view text) {
  const std::u32string words = padded_words(text);
  if (words.size() < 3) return {};
  const Model& trained = model();
  const std::size_t languages = trained.codes.size();
  std::vector<double> scores(languages, 0.0);
  for_each_ngram(words, [&](std::uint64_t key, int n) {
    const auto row = trained.rows.find(key);
    for (std::size_t l = 0; l < languages; ++l) {
      scores[l] += row == trained.rows.end() ? trained.unseen[l][n] : trained.scores[row->second + l];
    }
  });
  const auto best = std::max_element(scores.begin(), scores.end());
  return {trained.codes[static_cast<std::size_t>(best - scores.begin())]};
}

std::vector<std::string> ngram_languages() { return model().codes; }

}  // namespace vnawire::langid
