// Repairs words that scraping glued together ("aucours", "SergueïLavrov") with a Hunspell word list.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "stages/extract/extract_lexicon.h"
#include "stages/extract/extract_word_hash.h"

namespace vnawire::extract {

// The exact word forms (maximal letter runs) of one document with their counts: a glued token's
// halves are trusted when they also occur on their own in the same dispatch, which covers the
// proper nouns no dictionary has ("SergueïLavrov" next to "Lavrov").
class Vocabulary {
 public:
  void add_text(std::string_view text);

  bool has(std::string_view word) const { return counts_.contains(word); }
  // How many times add_text() met `word` (0: never).
  std::size_t count(std::string_view word) const {
    const std::size_t* n = counts_.find(word);
    return n != nullptr ? *n : 0;
  }
  std::size_t size() const { return counts_.size(); }
  // f(std::string_view word, std::size_t count) for every word, in the order first met.
  template <class F>
  void for_each(F&& f) const {
    counts_.for_each(f);
  }

 private:
  FlatWordMap<std::size_t> counts_;
};

// Share of the document's lower-case words (two letters or more) that the lexicon knows.
double lexicon_coverage(const Lexicon& lexicon, const Vocabulary& vocabulary);

// The installed dictionary that knows at least 60% of the document's lower-case words, best first;
// nullptr when none does (another language, or no dictionary): then only the dictionary-free
// repairs run.
const Lexicon* pick_lexicon(const Vocabulary& vocabulary);

// Puts the missing space back after a comma or semicolon between letters ("liens,et") and after a
// full stop between a lower-case word and a capitalised one ("pays.Le").
std::string fix_punctuation_spacing(std::string_view text);

// Splits glued words in `text` (see the rules in the .cc). `lexicon` may be null.
std::string split_glued_words(std::string_view text, const Lexicon* lexicon, const Vocabulary& vocabulary);

}  // namespace vnawire::extract
