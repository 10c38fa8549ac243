// A Hunspell word list (stems and suffix rules) answering "is this a word form?", loaded once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stages/extract/extract_word_hash.h"

namespace vnawire::extract {

// A word list read from a Hunspell .dic with its .aff: enough of Hunspell to answer "is this a word
// form?" (stems, one suffix, one prefix and their cross product, looked up in reverse as Hunspell
// does), nothing to suggest or correct. Compounding and two-fold suffixes are left out: the
// dictionaries used here (Debian's French and English) do not need them for ordinary words.
class Lexicon {
 public:
  // nullptr if the .dic cannot be read; a missing or unreadable .aff just means no suffix rules.
  static std::unique_ptr<Lexicon> load_files(const std::string& dic_path, const std::string& aff_path,
                                             std::string_view language);
  static std::unique_ptr<Lexicon> from_strings(std::string_view dic, std::string_view aff, std::string_view language);

  // True when `word` is a form the dictionary accepts, exactly as written (case included).
  bool contains(std::string_view word) const;
  // Same, also accepting a capitalised or upper-case spelling of a lower-case entry.
  bool contains_any_case(std::string_view word) const;
  // True when `piece` is an ending some suffix rule adds ("rait", "ions").
  bool is_ending(std::string_view piece) const;
  // Closed-class words of the language (articles, prepositions…), given in lower case.
  bool is_function_word(std::string_view lower_word) const;
  const std::string& language() const { return language_; }
  // Unique to this lexicon in the process (an address can be reused by the next one).
  std::uint64_t id() const { return id_; }
  std::size_t stem_count() const { return stems_.size(); }

 private:
  struct CondElem {
    bool any = false;
    bool negate = false;
    std::u32string chars;
  };
  struct AffixRule {
    char32_t flag = 0;
    bool cross = false;  // may combine with an affix of the other kind
    std::string strip;
    std::vector<CondElem> condition;
  };
  // Looked up by string_view: the affix walk probes every ending of a word, and an allocation per
  // probe was most of a look-up's cost.
  using RuleIndex = WordMap<std::vector<AffixRule>>;  // keyed by the added text

  char32_t parse_one_flag(std::string_view s, std::size_t& i) const;
  std::u32string parse_flags(std::string_view s) const;
  void parse_aff(std::string_view aff);
  void parse_dic(std::string_view dic);
  bool contains_uncached(std::string_view word) const;
  bool stem_has(std::string_view stem, char32_t flag, char32_t also) const;
  bool suffixed(std::string_view w, char32_t prefix_flag) const;
  static bool condition_matches(const std::vector<CondElem>& cond, std::string_view root, bool at_end);

  enum class FlagMode { kChar, kLong, kNum, kUtf8 };
  FlagMode flag_mode_ = FlagMode::kChar;
  char32_t need_affix_ = 0;
  char32_t forbidden_ = 0;
  std::vector<std::u32string> aliases_;
  WordMap<std::u32string> stems_;
  RuleIndex suffixes_;
  RuleIndex prefixes_;
  std::size_t max_suffix_bytes_ = 0;
  std::size_t max_prefix_bytes_ = 0;
  std::string language_;
  const std::unordered_set<std::string>* function_words_ = nullptr;
  std::uint64_t id_ = 0;  // names this lexicon in the per-thread memo of answers (addresses get reused)
};

// The system's dictionary for `language` ("fr", "en", "es"), loaded once on first use from the
// usual Hunspell folders (or $VNAWIRE_HUNSPELL_DIR); nullptr if not installed.
const Lexicon* system_lexicon(std::string_view language);

}  // namespace vnawire::extract
