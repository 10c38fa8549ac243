// The entity resources (countries, places, role words, organisation heads, known organisations), read once
// from the TSV files under config/lexicons/ that the build embeds (docs/extract.md, "Entities").
#pragma once

#include <algorithm>
#include <bitset>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stages/extract/extract_word_hash.h"

namespace vnawire::extract {

struct PlaceEntry {
  std::string country;  // ISO2, empty for seas and regions
  bool is_country = false;
};

enum class RoleKind { kNone, kRole, kCounterpart };
enum class OrgHeadKind { kNone, kHead, kLower, kAlone };

// What the tables say of one folded word (or hyphenated word, "vice premier"): the adjective, role and
// role-prefix tables in one look-up, since every token of every paragraph asks all three.
struct WordFacts {
  std::string adjective;  // country_of_adjective
  bool role_prefix = false;
  RoleKind role = RoleKind::kNone;
};

struct KnownOrganization {
  std::string name;  // the first (French) name of the row
  std::string acronym;
  std::string country;
};

// The first byte and length of every key of a table: most words are turned away by one bit test instead
// of being hashed and looked up (the tokens of every paragraph ask the organisation heads and WordFacts).
class KeyShapes {
 public:
  void add(std::string_view key) { seen_.set(slot(key)); }
  bool may_hold(std::string_view key) const { return seen_.test(slot(key)); }

 private:
  static constexpr std::size_t kLengths = 32;  // the last slot stands for this length and more
  static std::size_t slot(std::string_view key) {
    const std::size_t first = key.empty() ? 0 : static_cast<unsigned char>(key.front());
    return first * kLengths + std::min(key.size(), kLengths - 1);
  }
  std::bitset<256 * kLengths> seen_;
};

class Gazetteer {
 public:
  // Parses the files' text; `files` are (file name, content) pairs such as embedded_lexicons() gives.
  static Gazetteer from_files(const std::vector<std::pair<std::string_view, std::string_view>>& files);

  // Keys are folded word sequences joined by one space (entity_fold in extract_entities.cc).
  const PlaceEntry* place(const std::string& folded) const;
  std::size_t place_id(const std::string& folded) const;  // same id for every name of one place
  // ISO2 of a nationality adjective ("russe", "vietnamiennes", "Russian"), empty if none.
  std::string country_of_adjective(const std::string& folded) const;
  // ISO2 of a country name ("russie", "viet nam"), empty if none.
  std::string country_of_name(const std::string& folded) const;
  RoleKind role(const std::string& folded) const;
  OrgHeadKind org_head(std::string_view exact_word) const;
  const KnownOrganization* known_organization(const std::string& folded_name_or_acronym) const;
  bool stop_word(const std::string& folded) const { return stop_words_.count(folded) != 0; }
  bool vietnamese_surname(const std::string& folded) const { return surnames_.count(folded) != 0; }

  // True when `folded` is a place or role name or the first words of one: look-ups of longer word
  // sequences can stop as soon as this is false.
  bool place_prefix(const std::string& folded) const { return place_prefixes_.count(folded) != 0; }
  bool role_prefix(const std::string& folded) const { return role_prefixes_.count(folded) != 0; }
  // Null when none of country_of_adjective, role_prefix and role knows `folded`.
  const WordFacts* word_facts(const std::string& folded) const;

  std::size_t max_place_words() const { return max_place_words_; }
  std::size_t max_role_words() const { return max_role_words_; }

 private:
  WordMap<std::size_t> places_;  // folded name -> index in place_entries_
  std::vector<PlaceEntry> place_entries_;
  WordMap<std::string> adjectives_;
  WordMap<RoleKind> roles_;
  // Looked up by the token's text as a string_view, without making a string of it.
  WordMap<OrgHeadKind> org_heads_;
  KeyShapes org_head_shapes_;
  WordMap<std::size_t> organization_index_;
  std::vector<KnownOrganization> organizations_;
  WordSet stop_words_;
  WordSet surnames_;
  WordSet place_prefixes_;
  WordSet role_prefixes_;
  WordMap<WordFacts> word_facts_;
  KeyShapes word_fact_shapes_;
  std::size_t max_place_words_ = 1;
  std::size_t max_role_words_ = 1;
};

// The resources built into the binary from config/lexicons/*.tsv, parsed on first use.
const Gazetteer& default_gazetteer();

// Lower case, accents removed (đ -> d), hyphens, apostrophes and dots as spaces, white space collapsed:
// the scorer's folding (../shared/eval/README.md), used for every look-up and comparison of names.
std::string entity_fold(std::string_view s);

// One code point of entity_fold in a text with more than ASCII, for a caller that scans the text anyway
// (the tokenizer): appends c folded to `out`, or only sets `pending` for a separator or white space.
void append_entity_folded_non_ascii(std::string& out, char32_t c, bool& pending);
// The ASCII bytes entity_fold reads as a space between words: white space, hyphen, apostrophe, dot, backquote.
constexpr bool entity_separator(char32_t c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == '-' || c == '\'' || c == '.' || c == '`';
}
inline void append_entity_folded(std::string& out, char32_t c, bool& pending) {
  if (c >= 0x80) return append_entity_folded_non_ascii(out, c, pending);
  if (entity_separator(c)) {
    pending = !out.empty();
    return;
  }
  if (pending) out += ' ';
  pending = false;
  out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

}  // namespace vnawire::extract
