// Splits a paragraph into words and punctuation for the entity rules: hyphenated words stay whole
// ("vice-Premier", "Asie-Pacifique"), French elisions are cut off ("l'", "d’").
#include <algorithm>

#include "stages/extract/extract_entity_tokens.h"
#include "stages/extract/extract_gazetteer.h"
#include "stages/extract/extract_text_util.h"
#include "stages/runtime/byte_scan.h"

namespace vnawire::extract::entities {
namespace {

bool is_hyphen(char32_t c) { return c == U'-' || c == U'‐' || c == U'‑'; }
bool is_apostrophe(char32_t c) { return c == U'\'' || c == U'’'; }
bool word_char(char32_t c) { return util::is_letter(c) || util::is_digit(c); }

bool elision(std::string_view word) {
  const std::string low = util::to_lower(word);
  return low == "l" || low == "d" || low == "qu" || low == "n" || low == "s" || low == "j" || low == "c" ||
         low == "m" || low == "t" || low == "jusqu" || low == "lorsqu" || low == "puisqu";
}

char32_t code_point_at(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 0;
  return util::next_code_point(s, i);
}

// Appends the token text[begin, end) to `tokens`, built in place (a token is large to move).
Token& add_token(std::vector<Token>& tokens, std::string_view text, std::size_t begin, std::size_t end, bool word) {
  Token& t = tokens.emplace_back();
  t.text = text.substr(begin, end - begin);
  t.begin = begin;
  t.end = end;
  t.word = word;
  // Most tokens are short and plain ASCII: folded byte by byte into a buffer, without decoding or the
  // Unicode tables, and copied into the token once.
  constexpr std::size_t kShort = 64;
  if (t.text.size() <= kShort && runtime::ascii_prefix(t.text.data(), 0, t.text.size()) == t.text.size()) {
    char folded[kShort];
    std::size_t n = 0, letters = 0;
    bool pending = false, lower_case = false;
    for (const char c : t.text) {
      const bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
      letters += upper || lower;
      lower_case = lower_case || lower;
      if (entity_separator(static_cast<unsigned char>(c))) {
        pending = n != 0;
        continue;
      }
      if (pending) folded[n++] = ' ';
      pending = false;
      folded[n++] = upper ? static_cast<char>(c + ('a' - 'A')) : c;
    }
    t.fold.assign(folded, n);
    if (word) {
      t.capital = t.text[0] >= 'A' && t.text[0] <= 'Z';
      t.acronym = letters >= 2 && !lower_case;
    }
    return t;
  }
  // One pass gives the fold (entity_fold: a token holds no white space, so its all-ASCII reading
  // agrees), the case of the first letter and whether all letters are capitals.
  t.fold.reserve(t.text.size());
  bool pending = false;
  std::size_t letters = 0;
  bool all_upper = true;
  for (std::size_t k = 0; k < t.text.size();) {
    const bool first = k == 0;
    const char32_t c = util::next_code_point(t.text, k);
    append_entity_folded(t.fold, c, pending);
    if (!word) continue;
    const bool upper = util::is_upper(c);
    if (first) t.capital = upper;
    if (util::is_letter(c)) {
      ++letters;
      if (!upper) all_upper = false;
    }
  }
  t.acronym = word && letters >= 2 && all_upper;
  return t;
}

}  // namespace

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> tokens;
  // About one token per five bytes of text: growing a vector of tokens moves each one again.
  tokens.reserve(s.size() / 5 + 1);
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t start = i;
    char32_t c = util::next_code_point(s, i);
    if (util::is_space(c)) continue;
    if (!word_char(c)) {
      add_token(tokens, s, start, i, false);
      continue;
    }
    std::size_t end = i;
    while (end < s.size()) {
      std::size_t next = end;
      c = util::next_code_point(s, next);
      if (word_char(c)) {
        end = next;
        continue;
      }
      if (is_hyphen(c) && word_char(code_point_at(s, next))) {
        end = next;
        continue;
      }
      if (is_apostrophe(c) && util::is_letter(code_point_at(s, next))) {
        if (elision(s.substr(start, end - start))) {
          Token& t = add_token(tokens, s, start, next, true);
          t.elided = true;
          t.capital = false;
          end = next;
          break;
        }
        end = next;
        continue;
      }
      break;
    }
    if (!tokens.empty() && tokens.back().elided && tokens.back().end == end) {
      i = end;
      continue;
    }
    add_token(tokens, s, start, end, true);
    i = end;
  }
  return tokens;
}

void annotate(std::vector<Token>& tokens, const Gazetteer& g) {
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    Token& t = tokens[k];
    if (!t.word) continue;
    // The token's own word: one look-up for its adjective and the roles it opens.
    const WordFacts* facts = g.word_facts(t.fold);
    if (facts != nullptr) t.adjective = facts->adjective;
    t.org_head = g.org_head(t.text);
    std::string key;
    for (std::size_t n = 1; n <= g.max_role_words() && k + n <= tokens.size(); ++n) {
      if (!tokens[k + n - 1].word) break;
      RoleKind r = RoleKind::kNone;
      if (n == 1) {
        if (facts == nullptr || !facts->role_prefix) break;
        r = facts->role;
        key = t.fold;
      } else {
        key += ' ';
        key += tokens[k + n - 1].fold;
        if (!g.role_prefix(key)) break;
        r = g.role(key);
      }
      if (r == RoleKind::kNone) continue;
      t.role_words = n;
      t.role_kind = r;
      if (n == 1) t.role_word = true;
    }
  }
}

std::string span_text(std::string_view paragraph, const std::vector<Token>& tokens, std::size_t from, std::size_t to,
                      std::size_t skip) {
  std::string out;
  int depth = 0;
  std::size_t prev_end = std::string_view::npos;
  to = std::min(to, tokens.size());
  for (std::size_t k = from; k < to; ++k) {
    const Token& t = tokens[k];
    if (t.text == "(") ++depth;
    if (depth > 0 || k == skip) {
      if (t.text == ")") --depth;
      if (!out.empty()) prev_end = std::string_view::npos;
      continue;
    }
    if (!out.empty() && (prev_end == std::string_view::npos || prev_end < t.begin)) out += ' ';
    out.append(paragraph.substr(t.begin, t.end - t.begin));
    prev_end = t.end;
  }
  return util::fold_spaces(out);
}

namespace {

template <class Visit>
void for_each_word(std::string_view folded, Visit visit) {
  std::size_t from = 0;
  while (from <= folded.size()) {
    const std::size_t space = std::min(folded.find(' ', from), folded.size());
    if (space > from) visit(folded.substr(from, space - from));
    from = space + 1;
  }
}

}  // namespace

std::vector<std::string> split_words(const std::string& folded) {
  std::vector<std::string> words;
  for_each_word(folded, [&words](std::string_view w) { words.emplace_back(w); });
  return words;
}

std::vector<Word> words_of_tokens(const std::vector<Token>& tokens) {
  std::vector<Word> words;
  words.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].word) for_each_word(tokens[i].fold, [&](std::string_view w) { words.push_back({w, i}); });
  }
  return words;
}

bool honorific(std::string_view f) {
  return f == "m" || f == "mme" || f == "mr" || f == "mrs" || f == "ms" || f == "mlle" || f == "dr" || f == "ong" ||
         f == "ba";
}

bool sentence_end(std::span<const Token> tokens, std::size_t i) {
  const Token& t = tokens[i];
  if (t.word || (t.text != "." && t.text != "!" && t.text != "?")) return false;
  return !(t.text == "." && i > 0 && tokens[i - 1].word && honorific(tokens[i - 1].fold));
}

}  // namespace vnawire::extract::entities
