// UTF-8, white-space, case and accent helpers shared by the text and HTML extractors.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vnawire::extract::util {

// Largest input either extractor looks at; anything bigger is refused as "not a dispatch" so that
// a runaway page cannot make one record cost seconds or gigabytes.
inline constexpr std::size_t kMaxInputBytes = 16u << 20;

// The strict UTF-8 check is runtime::is_valid_utf8 (stages/runtime/byte_scan.h).

// True for data that is clearly not text: NUL bytes or many C0 control characters.
bool looks_binary(std::string_view s);

// Replaces every invalid UTF-8 sequence by U+FFFD, so the result can always be serialised.
std::string sanitize_utf8(std::string_view s);

// Canonical composition, so "é" is one code point whatever the source did (dictionary look-ups and
// exact matches depend on it). Returns the input unchanged if ICU refuses it.
std::string to_nfc(std::string_view s);

// next_code_point beyond ASCII.
char32_t next_multibyte_code_point(std::string_view s, std::size_t& i);
// Decodes the code point at s[i] and advances i; invalid bytes decode as U+FFFD (one byte). ASCII, most
// of any text, is answered inline: the tokenizers call this for every character.
inline char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  // Two bytes (accented Latin letters): a lead byte from C2 (C0 and C1 would be overlong) and one
  // continuation byte; anything else, errors included, goes the long way.
  if (b >= 0xC2 && b <= 0xDF && i + 1 < s.size()) {
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if ((b1 & 0xC0) == 0x80) {
      i += 2;
      return (static_cast<char32_t>(b & 0x1F) << 6) | (b1 & 0x3F);
    }
  }
  return next_multibyte_code_point(s, i);
}
void append_utf8(std::string& out, char32_t c);
std::u32string to_u32(std::string_view s);
std::string to_utf8(std::u32string_view s);

bool is_non_ascii_space(char32_t c);
// Any Unicode white space, NBSP included.
inline bool is_space(char32_t c) {
  return c < 0x80 ? c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' : is_non_ascii_space(c);
}
bool is_non_ascii_letter(char32_t c);
bool is_non_ascii_upper(char32_t c);
// Letters and combining marks (a word never breaks on an accent).
inline bool is_letter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c >= 0xC0 && c <= 0x17F) return c != 0xD7 && c != 0xF7;  // Latin-1 letters and Latin Extended-A
  return is_non_ascii_letter(c);
}
inline bool is_upper(char32_t c) { return c < 0x80 ? c >= 'A' && c <= 'Z' : is_non_ascii_upper(c); }
bool is_lower(char32_t c);
inline bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
char32_t lower(char32_t c);
std::string to_lower(std::string_view s);

// White space of any kind (NBSP, thin spaces, tabs) becomes one ASCII space; ends trimmed.
std::string fold_spaces(std::string_view s);
std::string_view trim(std::string_view s);

// Lower case, accents removed, đ -> d, spaces folded: the key used to compare markers such as
// "Voir plus" / "Xem thêm" or month names whatever their accents and case.
std::string fold_key(std::string_view s);
// One code point of fold_key, for a caller that folds while it scans: appends c folded to `out`, or only
// sets `pending` when c is white space (the space is written before the next character, never first).
void append_folded(std::string& out, char32_t c, bool& pending);

// Splits on \n (after \r\n and \r are treated as \n); lines keep their inner text untouched.
std::vector<std::string_view> split_lines(std::string_view s);

// Number of code points.
std::size_t length_chars(std::string_view s);

bool ends_with(std::string_view s, std::string_view suffix);
bool starts_with(std::string_view s, std::string_view prefix);

}  // namespace vnawire::extract::util
