// ASCII text helpers: the fetcher's parsers (HTTP, robots.txt, WARC, feeds, charsets, dates), sinks (HTTP answers,
// token files) and whatever else reads protocol text.
#pragma once

#include <string>
#include <string_view>

namespace vnawire::runtime {

// The protocols and formats these read are ASCII at the syntax level, so these helpers never consult the
// C locale (std::isspace and std::tolower would follow whatever locale the process runs under).

// White space as std::isspace reads it in the "C" locale.
inline constexpr std::string_view kAsciiSpace = " \t\n\v\f\r";
// WHATWG's "ASCII whitespace" (no vertical tab), which HTML and the Encoding Standard use.
inline constexpr std::string_view kHtmlSpace = " \t\n\f\r";

bool is_space(char c, std::string_view spaces = kAsciiSpace);
// `text` without the leading and trailing characters of `spaces`.
std::string_view trim(std::string_view text, std::string_view spaces = kAsciiSpace);

// Inline: text loops call these on every byte.
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool ascii_alpha(char c) { return static_cast<unsigned char>((c | 0x20) - 'a') < 26; }
constexpr bool ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
std::string ascii_lowered(std::string_view text);
// Not empty, and only the digits 0 to 9.
constexpr bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Case-insensitive (ASCII) equality and prefix test, as header names, directives and tokens compare.
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

}  // namespace vnawire::runtime
