// Repairs words that scraping glued together ("aucours", "SergueïLavrov") with a Hunspell word list.
//
// The rule, in short. A letter run is left alone when the dictionary knows it, when it has digits
// next to it, when it is all capitals (acronyms), or when it sits in a URL. Otherwise:
//  * A lower-to-upper step inside it ("leVietnam", "SergueïLavrov") is a cut when the left part is a
//    known word and the right part is a known capitalised form (a dictionary proper noun, or a word
//    the same dispatch also writes on its own). Brand names ("VinFast", "PetroVietnam") fail that.
//    A function word before an acronym is cut too ("deASEAN"). Two capitalised parts are cut only
//    when the dispatch writes both alone and the glued form just once ("MacBook" twice is a brand).
//  * Otherwise every cut point is tried and each half is scored: 3 for a function word ("de",
//    "les", "à"), 2 for a dictionary word, 1 for a word the document also uses on its own. A cut
//    counts only if both halves score and, when neither half is a function word, both have four
//    letters or more (short content words glue into false positives: "jan"+"vie"), and the right
//    half is not an inflection ending of the affix table ("abrège"+"rait"), even after a doubled
//    consonant ("level"+"ling"). The best total
//    wins; a tie between two cuts means we cannot tell, and the token is kept.
//  * A capitalised token is most often a name the dictionary lacks ("Dupont" would be "Du pont"), so
//    it is cut only when its right part is a function word and its left part is a known proper noun
//    ("Russieà"), when both parts are function words ("Lesplus"), or when its left part occurs on
//    its own in the dispatch; never when the token itself recurs in the dispatch.
//  * If no single cut works, a cut into three parts is tried under the same scores, two of the parts
//    being articles or prepositions ("chefsdela"); only for lower-case runs of 6 to 24 letters.
//  * A function word glued to a lower-case word of five letters or more with two neighbouring
//    letters swapped is cut ("les|déptués"); the slip itself is not corrected.
//  * English and Spanish close their compounds ("teardown") and end names with short function words
//    ("Britton"): there only cuts after a function word of 2+ letters or before one of 3+ count.
//  * Bound prefixes ("multi", "inter", "socio") never stand alone before a content word: a word the
//    dictionary lacks that starts with one is a coinage ("multilatéralisation"), not a glue.
#include "stages/extract/extract_wordsplit.h"

#include <unordered_set>

#include "stages/extract/extract_text_util.h"
#include "stages/extract/extract_word_hash.h"
#include "stages/runtime/ascii_text.h"
#include "stages/runtime/byte_scan.h"

namespace vnawire::extract {
namespace {

using util::is_letter;
using util::is_lower;
using util::is_upper;

// Bound prefixes that make new words ("multilatéralisation", "cybersécurité"): a word the dictionary
// lacks but that starts with one is a coinage, not two words, unless a function word follows.
const std::unordered_set<std::string> kPrefixes = {
    "anti",   "auto",   "bio",    "co",     "contre", "cyber",  "éco",     "extra", "hyper",  "inter", "intra",
    "macro",  "méga",   "micro",  "mini",   "multi",  "néo",    "non",     "outre", "para",   "pluri", "poly",
    "post",   "pré",    "pro",    "proto",  "pseudo", "re",     "ré",      "semi",  "sous",   "super", "supra",
    "sur",    "télé",   "trans",  "tri",    "ultra",  "uni",    "vice",    "agro",  "géo",    "hydro", "infra",
    "mono",   "omni",   "photo",  "radio",  "socio",  "thermo", "électro", "over",  "under",  "sub",   "psycho",
    "techno", "tétra",  "déci",   "intro",  "contra", "ortho",  "penta",   "hexa",  "cardio", "neuro", "nano",
    "homo",   "hétéro", "iso",    "kilo",   "centi",  "milli",  "méta",    "archi", "demi",   "rétro", "stéréo",
    "vidéo",  "turbo",  "immuno", "physio", "gastro", "hémi",   "quadri"};
// French elided forms: the part of a glued token right before an apostrophe ("dansl'", "àl'").
const std::unordered_set<std::string> kFrenchElided = {"l", "d",  "j",     "m",      "n",      "s",     "t",
                                                       "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"};

// Future-tense endings that are also forms of "avoir".
const std::unordered_set<std::string> kFutureEndings = {"a", "as", "ai", "ont", "ez", "ons"};
// The articles and prepositions a three-way cut may rely on ("chefs|de|la"): pronouns and other
// function words make too many false three-way cuts ("sa|il|lissant").
const std::unordered_set<std::string> kLinking = {"de", "la", "le",  "les", "du", "des", "à",  "au",  "aux", "en",
                                                  "et", "un", "une", "the", "of", "and", "el", "los", "y"};

bool all_upper(std::u32string_view s) {
  for (const char32_t c : s) {
    if (!is_upper(c)) return false;
  }
  return true;
}

}  // namespace

void Vocabulary::add_text(std::string_view text) {
  constexpr std::size_t kNone = std::string_view::npos;
  std::size_t run_start = kNone;  // a run of letters is contiguous bytes of `text`
  for (std::size_t i = 0; i <= text.size();) {
    if (i < text.size() && runtime::ascii_alpha(text[i])) {  // a run of ASCII letters, most of a word, in one go
      if (run_start == kNone) run_start = i;
      for (++i; i < text.size() && runtime::ascii_alpha(text[i]); ++i) {
      }
      continue;
    }
    const std::size_t start = i;
    const char32_t c = i < text.size() ? util::next_code_point(text, i) : U' ';
    if (i == start) ++i;
    if (is_letter(c)) {
      if (run_start == kNone) run_start = start;
    } else if (run_start != kNone) {
      ++counts_.try_emplace(text.substr(run_start, start - run_start), 0);
      run_start = kNone;
    }
  }
}

double lexicon_coverage(const Lexicon& lexicon, const Vocabulary& vocabulary) {
  std::size_t total = 0;
  std::size_t known = 0;
  vocabulary.for_each([&](std::string_view word, std::size_t count) {
    // Words of two letters or more, in lower case only; an ASCII word is read without decoding.
    bool ascii = true, upper = false;
    for (const char c : word) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        ascii = false;
        break;
      }
      if (c >= 'A' && c <= 'Z') {
        upper = true;
        break;
      }
    }
    if (upper || (ascii && word.size() < 2)) return;
    if (!ascii) {
      const std::u32string u = util::to_u32(word);
      if (u.size() < 2) return;
      bool lower_only = true;
      for (const char32_t c : u) lower_only = lower_only && !is_upper(c);
      if (!lower_only) return;
    }
    total += count;
    if (lexicon.contains(word)) known += count;
  });
  return total == 0 ? 0.0 : static_cast<double>(known) / static_cast<double>(total);
}

const Lexicon* pick_lexicon(const Vocabulary& vocabulary) {
  const Lexicon* best = nullptr;
  double best_cov = 0.6;
  for (const char* lang : {"fr", "en", "es"}) {
    const Lexicon* lex = system_lexicon(lang);
    if (lex == nullptr) continue;
    const double cov = lexicon_coverage(*lex, vocabulary);
    if (cov >= best_cov) best = lex, best_cov = cov;
    if (best_cov >= 0.85) break;  // no other language will know this text better
  }
  return best;
}

std::string fix_punctuation_spacing(std::string_view text) {
  // A space is only ever added after ',', ';' or '.' directly followed by a letter: text without
  // such a pair (most paragraphs) is returned as it is, once it is known to be valid UTF-8 (the
  // decoding below would replace invalid bytes).
  // The marks are found sixteen bytes at a time (string_view::find_first_of would call memchr on its set
  // for every byte); the byte after each is then looked at.
  bool candidate = false;
  const char* const end = text.data() + text.size();
  for (const char* mark = runtime::find_byte_of(text.data(), end, ',', ';', '.'); end - mark > 1 && !candidate;
       mark = runtime::find_byte_of(mark + 1, end, ',', ';', '.')) {
    const auto next = static_cast<unsigned char>(mark[1]);
    candidate = next >= 0x80 || (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z');
  }
  if (!candidate && runtime::is_valid_utf8(text)) return std::string(text);
  const std::u32string u = util::to_u32(text);
  std::u32string out;
  out.reserve(u.size() + 8);
  for (std::size_t i = 0; i < u.size(); ++i) {
    out += u[i];
    if (i == 0 || i + 1 >= u.size()) continue;
    const char32_t prev = u[i - 1];
    const char32_t next = u[i + 1];
    if ((u[i] == U',' || u[i] == U';') && is_letter(prev) && is_letter(next)) {
      out += U' ';
    } else if (u[i] == U'.' && i >= 3 && i + 2 < u.size() && is_lower(u[i - 1]) && is_lower(u[i - 2]) &&
               is_lower(u[i - 3]) && is_upper(next) && is_lower(u[i + 2]) &&
               !(u.compare(i - 3, 3, U"www") == 0 && (i == 3 || !is_letter(u[i - 4])))) {
      // "pays.Le": but not inside a domain name, whose next part is lower case ("vietnamplus.vn") or
      // follows "www" ("www.DearAbby.com").
      out += U' ';
    }
  }
  return util::to_utf8(out);
}

namespace {

class Splitter {
 public:
  Splitter(const Lexicon* lexicon, const Vocabulary& vocabulary) : lex_(lexicon), vocab_(vocabulary) {}

  // The replacement for one letter run (itself when nothing is cut).
  std::string split(std::u32string_view w, bool before_apostrophe) const {
    const std::string word = util::to_utf8(w);
    if (w.size() < (before_apostrophe ? 2u : 3u) || w.size() > 48) return word;  // "àl'" is the shortest glue
    bool has_lower = false;
    std::size_t camel = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      has_lower = has_lower || is_lower(w[i]);
      if (camel == 0 && i > 0 && is_lower(w[i - 1]) && is_upper(w[i])) camel = i;
    }
    if (!has_lower) return word;  // acronyms
    if (lex_ != nullptr && lex_->contains_any_case(word)) return word;
    // A capitalised camel-case token the dispatch writes twice is a brand ("MacBook"), not glue.
    if (camel != 0 && is_upper(w[0]) && vocab_.count(word) >= 2) {
      return word;
    }
    if (camel != 0) return split_camel(w, camel);
    if (lex_ == nullptr) return word;
    const bool capitalized = is_upper(w[0]);
    // A capitalised unknown that the dispatch writes more than once is a name, not an accident.
    if (capitalized && vocab_.count(word) >= 2) return word;
    for (std::size_t k = 1; k < w.size(); ++k) {
      if (!is_lower(w[k])) return word;  // internal capitals or marks: not the glue we repair
    }
    std::vector<std::size_t> cuts;
    if (!best_cuts(w, capitalized, before_apostrophe, cuts)) return word;
    std::string out;
    std::size_t from = 0;
    for (const std::size_t cut : cuts) {
      out += util::to_utf8(std::u32string_view(w).substr(from, cut - from));
      out += ' ';
      from = cut;
    }
    out += util::to_utf8(std::u32string_view(w).substr(from));
    return out;
  }

 private:
  static constexpr int kFunction = 3;
  static constexpr int kDictionary = 2;
  static constexpr int kDocument = 1;

  int score(std::u32string_view piece, bool first_capitalized, bool last_before_apostrophe) const {
    const std::string utf8 = util::to_utf8(piece);
    const std::string low = first_capitalized ? util::to_lower(utf8) : utf8;
    if (lex_->is_function_word(low)) return kFunction;
    if (last_before_apostrophe && lex_->language() == "fr" && kFrenchElided.count(low) != 0) return kFunction;
    if (piece.size() < 2) return 0;
    if (lex_->contains(utf8) || (first_capitalized && lex_->contains(low))) return kDictionary;
    if (piece.size() >= 3 && vocab_.has(utf8)) return kDocument;
    return 0;
  }

  // Score of the cut (left|right), or 0 if the rules refuse it.
  int pair_score(std::u32string_view left, std::u32string_view right, bool capitalized, bool apostrophe) const {
    const int sl = score(left, capitalized, false);
    if (sl == 0) return 0;
    int sr = score(right, false, apostrophe);
    // "le|minsitre": a function word glued to a word with two letters swapped, the commonest slip
    // of a typist; only in lower case and for words of five letters or more, where a swap that
    // lands on another word is rare.
    if (sr == 0 && sl == kFunction && !capitalized && right.size() >= 5 && swapped_word(right)) sr = kDocument;
    if (sr == 0) return 0;
    // English and Spanish write compounds closed ("roofline", "teardown") and end many names and
    // rare words with a short function word ("Britton", "pestis", "Ariana"): there only a cut next
    // to a function word of three letters or more, or after one, is trusted.
    if (lex_->language() != "fr" &&
        ((sl != kFunction && (sr != kFunction || right.size() < 3)) ||
         (sl == kFunction && (left.size() < 2 || (sr == kFunction && left.size() + right.size() < 5))))) {
      return 0;  // and "a|cima", "to|to": one-letter or very short function-word pairs are word parts
    }
    if (sl != kFunction && sr != kFunction && (left.size() < 4 || right.size() < 4 || sl + sr < 2 * kDictionary)) {
      return 0;
    }
    // "abrège|rait", "bringue|ballait": a right half that is also an inflection ending of the affix
    // table is far more often the tail of a form the dictionary lacks than a glued word.
    if (sl != kFunction && sr == kDictionary && lex_->is_ending(util::to_utf8(right))) return 0;
    // "level|ling", "fumeron|nées": a doubled consonant before an ending is inflection too.
    if (sl != kFunction && sr != kFunction && right.size() >= 3 && right.front() == left.back() &&
        lex_->is_ending(util::to_utf8(right.substr(1)))) {
      return 0;
    }
    if (sr != kFunction && kPrefixes.count(util::to_lower(util::to_utf8(left))) != 0) return 0;
    // "dépecer|a", "voiturer|ont": an infinitive before a form of "avoir" spells a future tense.
    if (lex_->language() == "fr" && left.back() == U'r' && kFutureEndings.count(util::to_utf8(right)) != 0) return 0;
    if (capitalized) {
      const std::string l8 = util::to_utf8(left);
      // Outside French, names ending in "and" or "on" abound ("Marchand"): the left part must also
      // stand alone in the dispatch.
      const bool proper = left.size() >= 4 && (vocab_.has(l8) || (lex_->language() == "fr" && lex_->contains(l8)));
      const bool ok = (sl == kFunction && sr == kFunction) || (sr == kFunction && proper) ||
                      (sl != kFunction && vocab_.has(l8) && left.size() >= 3);
      if (!ok) return 0;
    }
    return sl + sr;
  }

  // True when swapping two neighbouring letters of `piece` gives a dictionary word.
  bool swapped_word(std::u32string_view piece) const {
    std::u32string t(piece);
    for (std::size_t i = 0; i + 1 < t.size(); ++i) {
      if (t[i] == t[i + 1]) continue;
      std::swap(t[i], t[i + 1]);
      const bool known = lex_->contains(util::to_utf8(t));
      std::swap(t[i], t[i + 1]);
      if (known) return true;
    }
    return false;
  }

  bool best_cuts(std::u32string_view w, bool capitalized, bool apostrophe, std::vector<std::size_t>& cuts) const {
    const std::u32string_view v(w);
    int best = 0;
    bool tie = false;
    std::size_t best_k = 0;
    for (std::size_t k = 1; k < v.size(); ++k) {
      const int s = pair_score(v.substr(0, k), v.substr(k), capitalized, apostrophe);
      if (s == 0) continue;
      if (s > best) {
        best = s, best_k = k, tie = false;
      } else if (s == best) {
        tie = true;
      }
    }
    if (best > 0) {
      if (tie) return false;
      cuts = {best_k};
      return true;
    }
    if (v.size() < 6 || v.size() > 24 || capitalized) return false;
    // Three parts: every part known, two of them articles or prepositions, content parts of 3+ letters.
    std::size_t best_a = 0;
    std::size_t best_b = 0;
    for (std::size_t a = 1; a + 1 < v.size(); ++a) {
      const int s1 = score(v.substr(0, a), false, false);
      if (s1 == 0 || (s1 != kFunction && (a < 3 || s1 < kDictionary))) continue;
      for (std::size_t b = a + 1; b < v.size(); ++b) {
        const int s2 = score(v.substr(a, b - a), false, false);
        if (s2 == 0 || (s2 != kFunction && (b - a < 3 || s2 < kDictionary))) continue;
        const int s3 = score(v.substr(b), false, apostrophe);
        if (s3 == 0 || (s3 != kFunction && (v.size() - b < 3 || s3 < kDictionary))) continue;
        const int linking = kLinking.count(util::to_utf8(v.substr(0, a))) +
                            kLinking.count(util::to_utf8(v.substr(a, b - a))) +
                            kLinking.count(util::to_utf8(v.substr(b)));
        if (linking < 2) continue;
        const int s = s1 + s2 + s3;
        if (s > best) {
          best = s, best_a = a, best_b = b, tie = false;
        } else if (s == best) {
          tie = true;
        }
      }
    }
    if (best == 0 || tie) return false;
    cuts = {best_a, best_b};
    return true;
  }

  std::string split_camel(std::u32string_view w, std::size_t at) const {
    const std::u32string left(w.substr(0, at));
    const std::u32string right(w.substr(at));
    const std::string l8 = util::to_utf8(left);
    const std::string r8 = util::to_utf8(right);
    bool left_ok = left.size() >= 3 && vocab_.has(l8);
    // Two capitalised parts ("SergueïLavrov") are two names only when the dispatch writes both on
    // their own; a dictionary word before a capital is a brand ("RemoteTalk", "ParkMobile").
    if (is_upper(left[0])) {
      const bool both_alone = left_ok && right.size() >= 3 && is_lower(right[1]) && vocab_.has(r8);
      return both_alone ? l8 + " " + r8 : util::to_utf8(w);
    }
    if (lex_ != nullptr) {
      left_ok =
          left_ok || lex_->is_function_word(util::to_lower(l8)) || (left.size() >= 2 && lex_->contains_any_case(l8));
    }
    // The right part must be a capitalised word known as such: a proper noun of the dictionary or a
    // form this dispatch writes on its own; it may itself hold another step ("deSergueïLavrov").
    bool right_ok =
        right.size() >= 2 && is_lower(right[1]) && (vocab_.has(r8) || (lex_ != nullptr && lex_->contains(r8)));
    // "deASEAN", "andAPEC": a lower-case function word before an acronym. Only a function word, so
    // "mRNA", "eKYC" and "kWh" stay whole.
    if (!right_ok && lex_ != nullptr && left.size() >= 2 && right.size() >= 2 && all_upper(right) &&
        lex_->is_function_word(l8)) {
      return l8 + " " + r8;
    }
    std::string right_out = r8;
    if (!right_ok && right.size() >= 4) {
      for (std::size_t i = 1; i < right.size(); ++i) {
        if (is_lower(right[i - 1]) && is_upper(right[i])) {
          right_out = split_camel(right, i);
          right_ok = right_out != r8 && (vocab_.has(util::to_utf8(right.substr(0, i))) ||
                                         (lex_ != nullptr && lex_->contains(util::to_utf8(right.substr(0, i)))));
          break;
        }
      }
    }
    if (!left_ok || !right_ok) return util::to_utf8(w);
    return l8 + " " + right_out;
  }

  const Lexicon* lex_;
  const Vocabulary& vocab_;
};

// A chunk (between spaces) that is a URL, a domain or an e-mail address is never touched.
bool url_like(std::u32string_view chunk) {
  if (chunk.find(U"://") != std::u32string_view::npos || chunk.find(U"www.") != std::u32string_view::npos ||
      chunk.find(U'@') != std::u32string_view::npos) {
    return true;
  }
  for (std::size_t i = 1; i + 1 < chunk.size(); ++i) {
    if (chunk[i] == U'.' && is_letter(chunk[i - 1]) && is_lower(chunk[i + 1])) return true;
  }
  return false;
}

bool joiner(char32_t c) { return c == U'-' || c == U'\'' || c == U'’'; }

// Hunspell spells "aujourd'hui" with U+0027 whatever the text used.
std::string dictionary_form(std::u32string_view s) {
  std::u32string t(s);
  for (char32_t& c : t) c = c == U'’' ? U'\'' : c;
  return util::to_utf8(t);
}

struct Run {
  std::size_t begin;
  std::size_t end;
};

// Runs of letters linked by single hyphens or apostrophes form a compound; a run inside a compound
// the dictionary knows ("aujourd'hui", "lock-out", "peut-être") is never cut.
bool in_known_compound(std::u32string_view chunk, const std::vector<Run>& runs, std::size_t r, const Lexicon* lex) {
  if (lex == nullptr) return false;
  auto linked = [&](std::size_t a) {  // run a and run a+1 are joined by one hyphen or apostrophe
    return a + 1 < runs.size() && runs[a + 1].begin == runs[a].end + 1 && joiner(chunk[runs[a].end]);
  };
  std::size_t first = r;
  while (first > 0 && linked(first - 1)) --first;
  std::size_t last = r;
  while (linked(last)) ++last;
  if (first == last) return false;
  auto known = [&](std::size_t a, std::size_t b) {
    return lex->contains_any_case(dictionary_form(chunk.substr(runs[a].begin, runs[b].end - runs[a].begin)));
  };
  if (known(first, last)) return true;
  return (r > first && known(r - 1, r)) || (r < last && known(r, r + 1));
}

// Repairs one chunk (a run of non-space characters) into `out`. `document_free` (when given) tells whether
// the chunk came out as it went in for reasons that owe nothing to this document: it reads as an address,
// or each of its letter runs is a word of the lexicon, stands next to a digit, or is part of a known
// compound. Only the splitter's own search reads the document's vocabulary.
void repair_chunk(std::u32string_view chunk, const Lexicon* lexicon, const Splitter& splitter, std::vector<Run>& runs,
                  std::string& out, bool* document_free) {
  if (url_like(chunk)) {
    out += util::to_utf8(chunk);
    if (document_free != nullptr) *document_free = true;
    return;
  }
  runs.clear();
  for (std::size_t j = 0; j < chunk.size();) {
    if (!is_letter(chunk[j])) {
      ++j;
      continue;
    }
    std::size_t k = j;
    while (k < chunk.size() && is_letter(chunk[k])) ++k;
    runs.push_back({j, k});
    j = k;
  }
  bool unchanged_by_rule = true;
  std::size_t copied = 0;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto [b, e] = runs[r];
    out += util::to_utf8(chunk.substr(copied, b - copied));
    copied = e;
    const std::u32string_view run = chunk.substr(b, e - b);
    const bool digit_near = (b > 0 && util::is_digit(chunk[b - 1])) || (e < chunk.size() && util::is_digit(chunk[e]));
    if (digit_near || in_known_compound(chunk, runs, r, lexicon)) {
      out += util::to_utf8(run);
      continue;
    }
    // A word of the lexicon is never cut (the splitter's first test would keep it as it is).
    std::string word = util::to_utf8(run);
    if (lexicon != nullptr && lexicon->contains(word)) {
      out += word;
      continue;
    }
    unchanged_by_rule = false;
    const bool apostrophe = e < chunk.size() && (chunk[e] == U'\'' || chunk[e] == U'’');
    out += splitter.split(run, apostrophe);
  }
  out += util::to_utf8(chunk.substr(copied));
  if (document_free != nullptr) *document_free = unchanged_by_rule;
}

// Chunks that come out as they went in whatever the document (repair_chunk's `document_free`), remembered
// per thread and per lexicon: most chunks of every dispatch are such words ("gouvernement,", "de"), and
// their repair converted and looked up each one again. Dropped whole past a bound, like the lexicon's memo.
class KeptChunks {
 public:
  // One memo per lexicon, so that a stream alternating between languages keeps each; lexicons made and
  // dropped (tests) past a few are forgotten.
  static KeptChunks& of(const Lexicon& lexicon) {
    thread_local std::vector<KeptChunks> kept;
    for (KeptChunks& k : kept) {
      if (k.lexicon_ == lexicon.id()) return k;
    }
    if (kept.size() >= 8) kept.clear();
    KeptChunks& added = kept.emplace_back();
    added.lexicon_ = lexicon.id();
    return added;
  }
  bool contains(std::string_view chunk) const { return chunks_.contains(chunk); }
  void add(std::string_view chunk) {
    if (chunk.size() > kLongest) return;
    if (chunks_.size() >= kMaxChunks) chunks_.clear();
    chunks_.try_emplace(chunk, true);
  }

 private:
  static constexpr std::size_t kLongest = 64;
  static constexpr std::size_t kMaxChunks = 1u << 16;
  std::uint64_t lexicon_ = 0;
  FlatWordMap<bool> chunks_;
};

}  // namespace

std::string split_glued_words(std::string_view text, const Lexicon* lexicon, const Vocabulary& vocabulary) {
  const Splitter splitter(lexicon, vocabulary);
  std::string out;
  out.reserve(text.size() + 16);
  std::vector<Run> runs;
  if (lexicon == nullptr || !runtime::is_valid_utf8(text)) {
    const std::u32string u = util::to_u32(text);
    for (std::size_t i = 0; i < u.size();) {
      if (util::is_space(u[i])) {
        util::append_utf8(out, u[i++]);
        continue;
      }
      std::size_t end = i;
      while (end < u.size() && !util::is_space(u[end])) ++end;
      repair_chunk(std::u32string_view(u).substr(i, end - i), lexicon, splitter, runs, out, nullptr);
      i = end;
    }
    return out;
  }
  // Valid UTF-8 is walked as it is, and only a chunk not met before is decoded and repaired.
  KeptChunks& kept = KeptChunks::of(*lexicon);
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = i;
    if (util::is_space(util::next_code_point(text, end))) {
      out.append(text, i, end - i);
      i = end;
      continue;
    }
    while (end < text.size()) {
      std::size_t next = end;
      if (util::is_space(util::next_code_point(text, next))) break;
      end = next;
    }
    const std::string_view chunk = text.substr(i, end - i);
    i = end;
    if (kept.contains(chunk)) {
      out += chunk;
      continue;
    }
    bool document_free = false;
    repair_chunk(util::to_u32(chunk), lexicon, splitter, runs, out, &document_free);
    if (document_free) kept.add(chunk);
  }
  return out;
}

}  // namespace vnawire::extract
