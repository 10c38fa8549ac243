// Normalisation with ICU: NFKD, strip combining marks, case fold, keep only letters and digits.
#include "stages/dedupe/dedupe_normalize.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>
#include <xxhash.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "stages/runtime/ascii_text.h"
#include "stages/runtime/byte_scan.h"
#include "stages/runtime/markup.h"

namespace vnawire::dedupe {
namespace {

// HTML entities, so that a page and its plain-text copy fold alike: accented letters keep their letter
// (accents are dropped anyway), numeric ones are decoded, the rest become a space.
std::string decode_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::size_t semicolon = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (semicolon == std::string_view::npos || semicolon - i > 10 || semicolon - i < 3) {
      out.push_back(text[i]);
      continue;
    }
    const std::string_view name = text.substr(i + 1, semicolon - i - 1);
    if (name[0] == '#') {
      unsigned code = 0;
      const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
      const auto digits = name.substr(hex ? 2 : 1);
      if (std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10).ec != std::errc()) {
        out.push_back(text[i]);
        continue;
      }
      icu::UnicodeString one(static_cast<UChar32>(code));
      one.toUTF8String(out);
    } else if (name.size() > 1 && (name.substr(1) == "acute" || name.substr(1) == "grave" || name.substr(1) == "circ" ||
                                   name.substr(1) == "uml" || name.substr(1) == "cedil" || name.substr(1) == "tilde")) {
      out.push_back(name[0]);
    } else {
      out.push_back(' ');
    }
    i = semicolon;
  }
  return out;
}

// One code point folded as fold() writes it: compatibility decomposition, marks dropped, đ as d, case
// folded.
void append_folded_code_point(const icu::Normalizer2* nfkd, UErrorCode& status, UChar32 c, std::string& out) {
  icu::UnicodeString decomposed;
  if (U_SUCCESS(status)) {
    decomposed = nfkd->normalize(icu::UnicodeString(c), status);
  } else {
    decomposed = icu::UnicodeString(c);
  }
  for (int32_t j = 0; j < decomposed.length();) {
    UChar32 d = decomposed.char32At(j);
    j += U16_LENGTH(d);
    if (u_getCombiningClass(d) != 0 || u_charType(d) == U_NON_SPACING_MARK) continue;
    if (d == 0x0111 || d == 0x0110) d = 'd';  // Vietnamese đ does not decompose
    d = u_foldCase(d, U_FOLD_CASE_DEFAULT);
    char bytes[U8_MAX_LENGTH];
    int32_t n = 0;
    UBool error = false;
    U8_APPEND(bytes, n, U8_MAX_LENGTH, d, error);
    if (!error) out.append(bytes, static_cast<std::size_t>(n));
  }
}

// The folds of the code points below U+3000 (Latin, Vietnamese, Greek, Cyrillic, punctuation), each
// worked out once per thread on first use: ICU's normalizer on one code point costs some hundred times a
// table read, and a French or Vietnamese dispatch has an accent every few words.
class FoldTable {
 public:
  static constexpr UChar32 kEnd = 0x3000;
  // Appends c's fold to `out`; an answer is kept only when ICU gave it without an error.
  void append(const icu::Normalizer2* nfkd, UErrorCode& status, UChar32 c, std::string& out) {
    Entry& entry = entries_[static_cast<std::size_t>(c)];
    if (!entry.known) {
      std::string text;
      append_folded_code_point(nfkd, status, c, text);
      out += text;
      if (U_FAILURE(status)) return;
      entry.text = std::move(text);
      entry.known = true;
      return;
    }
    out += entry.text;
  }

 private:
  struct Entry {
    bool known = false;
    std::string text;
  };
  std::vector<Entry> entries_ = std::vector<Entry>(kEnd);
};

}  // namespace

// Punctuation stays, so that the boilerplate rules can see "photo:" apart from a sentence about photos.
std::string fold(std::string_view line) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(status);
  thread_local FoldTable table;
  std::string out;
  out.reserve(line.size());
  for (int32_t i = 0, length = static_cast<int32_t>(line.size()); i < length;) {
    if (static_cast<unsigned char>(line[static_cast<std::size_t>(i)]) < 0x80) {
      // A run of ASCII is copied at once and lowered in place.
      const auto end =
          static_cast<int32_t>(runtime::ascii_prefix(line.data(), static_cast<std::size_t>(i), line.size()));
      const std::size_t from = out.size();
      out.append(line.data() + i, static_cast<std::size_t>(end - i));
      for (std::size_t k = from; k < out.size(); ++k) out[k] = runtime::ascii_lower(out[k]);
      i = end;
      continue;
    }
    UChar32 c = 0;
    U8_NEXT(line.data(), i, length, c);
    if (c < 0) continue;  // invalid UTF-8: dropped
    if (c < FoldTable::kEnd && U_SUCCESS(status)) {
      table.append(nfkd, status, c, out);
    } else {
      append_folded_code_point(nfkd, status, c, out);
    }
  }
  return out;
}

std::string readable_text(std::string_view html) { return decode_entities(runtime::visible_text(html)); }

namespace {

// 1 for the ASCII letters and digits, 0 for every other byte.
constexpr std::array<unsigned char, 256> kAsciiAlnum = [] {
  std::array<unsigned char, 256> table{};
  for (int c = 0; c < 256; ++c) table[static_cast<std::size_t>(c)] = runtime::ascii_alnum(static_cast<char>(c)) ? 1 : 0;
  return table;
}();

}  // namespace

std::string normalize_folded(std::string_view folded) {
  // Only bytes of `folded` are kept, never added: the output is written in place of a copy's bytes.
  std::string out(folded.size(), '\0');
  char* kept = out.data();
  for (int32_t i = 0, length = static_cast<int32_t>(folded.size()); i < length;) {
    if (static_cast<unsigned char>(folded[static_cast<std::size_t>(i)]) < 0x80) {
      const auto end = runtime::ascii_prefix(folded.data(), static_cast<std::size_t>(i), folded.size());
      for (auto k = static_cast<std::size_t>(i); k < end; ++k) {
        *kept = folded[k];
        kept += kAsciiAlnum[static_cast<unsigned char>(folded[k])];
      }
      i = static_cast<int32_t>(end);
      continue;
    }
    const int32_t start = i;
    UChar32 c = 0;
    U8_NEXT(folded.data(), i, length, c);
    if (c < 0x80 ? runtime::ascii_alnum(static_cast<char>(c)) : (c > 0 && u_isalnum(c))) {
      std::memcpy(kept, folded.data() + start, static_cast<std::size_t>(i - start));
      kept += i - start;
    }
  }
  out.resize(static_cast<std::size_t>(kept - out.data()));
  return out;
}

std::string normalize_for_dedupe(std::string_view body, bool is_html) {
  return normalize_folded(fold(is_html ? readable_text(body) : std::string(body)));
}

DedupeText prepare_text(std::string_view body, bool is_html, bool with_words) {
  const std::string html_text = is_html ? readable_text(body) : std::string();
  const std::string_view text = is_html ? std::string_view(html_text) : body;
  DedupeText out;
  const std::string folded = fold(text);
  out.normalized = normalize_folded(folded);
  if (with_words) out.words = words_of_folded(folded);
  return out;
}

std::string fingerprint(std::string_view bytes) {
  const XXH128_hash_t hash = XXH3_128bits(bytes.data(), bytes.size());
  char hex[40];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return hex;
}

}  // namespace vnawire::dedupe
