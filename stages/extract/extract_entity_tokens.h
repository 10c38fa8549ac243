// Words and punctuation of one paragraph, as the entity rules see them (internal to extract_entities*.cc).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stages/extract/extract_entities.h"
#include "stages/extract/extract_gazetteer.h"

namespace vnawire::extract::entities {

enum class Mark { kNone, kPerson, kPlace, kOrganization };

struct Token {
  // User-provided, not defaulted: value-initialising a Token (tokens.emplace_back()) then runs only the
  // member initialisers below, where a defaulted constructor first zeroes all 150 bytes with `rep stos`,
  // a quarter of the time spent making a token.
  Token() {}  // NOLINT(modernize-use-equals-default)
  std::string_view text;
  std::size_t begin = 0;  // byte offsets in the paragraph
  std::size_t end = 0;
  std::string fold;      // entity_fold(text)
  bool word = false;     // letters or digits (with inner hyphens); else one punctuation mark
  bool capital = false;  // starts with an upper-case letter
  bool acronym = false;  // two or more letters, all upper case ("PCV", "ASEAN")
  bool elided = false;   // "l'", "d’", "qu'"
  Mark mark = Mark::kNone;
  // Look-ups made once per token (annotate): the rules ask them many times.
  std::string adjective;                      // ISO2 when a nationality adjective ("russe")
  OrgHeadKind org_head = OrgHeadKind::kNone;  // by the exact spelling
  bool role_word = false;                     // a one-word role ("ministre")
  std::size_t role_words = 0;                 // words of the longest role starting here ("vice-Premier ministre")
  RoleKind role_kind = RoleKind::kNone;
  mutable signed char common = -1;  // common_word(), computed on first use
};

std::vector<Token> tokenize(std::string_view paragraph);
// Fills the look-up fields of every token from the gazetteer.
void annotate(std::vector<Token>& tokens, const Gazetteer& gazetteer);

// Text of tokens [from, to) as written, parenthesised groups left out, white space folded.
std::string span_text(std::string_view paragraph, const std::vector<Token>& tokens, std::size_t from, std::size_t to,
                      std::size_t skip = static_cast<std::size_t>(-1));

// The words of a folded string (folding turns "a-t-il" into "a t il").
std::vector<std::string> split_words(const std::string& folded);

// One folded word of a paragraph and the index of its token: a hyphenated token gives several ("a-t-il").
struct Word {
  std::string_view fold;  // into the token's fold, which must outlive it
  std::size_t token = 0;
};
// The words of the word tokens' folds (split_words), in order.
std::vector<Word> words_of_tokens(const std::vector<Token>& tokens);

// One paragraph with its tokens.
struct Unit {
  std::string_view text;
  std::vector<Token> tokens;
  std::vector<Word> words;  // words_of_tokens(tokens), for the quote and event rules
};

// An index that points at nothing (no token, no word, no person).
inline constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);

// A folded honorific: "m", "mme", "mr", "mrs", "ms", "mlle", "dr", and Vietnamese "ong", "ba".
bool honorific(std::string_view folded);
// Token i ends a sentence: ".", "!" or "?", but not the dot of an honorific ("M. Nguyen").
bool sentence_end(std::span<const Token> tokens, std::size_t i);

// "de", "du", "des", "d'", "of": words that join the parts of a name ("ministère des Affaires étrangères").
bool is_connector(const Token& t);
// Closed-class French and English words (articles, prepositions, pronouns, auxiliaries) in folded form.
bool is_function_word(const std::string& folded);
// Initial consonant, vowel group and final of a Vietnamese syllable, on a folded word ("nguyen", "trung").
bool vietnamese_syllable(const std::string& folded);
// A function word or a lower-case dictionary word ("Lors", "Mai"): not a name on its own.
bool common_word(const Token& t);

// Persons of the dispatch (extract_persons.cc): marks their tokens kPerson. `foreign` is the country other
// than Vietnam the dispatch speaks most of, the default for a foreign name with no other clue. `places`
// receives the names the rules took for places instead ("à Luang Prabang"), with their country if known.
std::vector<Person> find_persons(std::span<Unit> units, const Gazetteer& gazetteer, const std::string& foreign,
                                 std::vector<std::pair<std::string, std::string>>& places);

}  // namespace vnawire::extract::entities
