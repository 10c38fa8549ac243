// Writing-system evidence for langid: which scripts a text's letters are in, and what that alone implies.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace vnawire::langid {

enum class Script { Latin, Cyrillic, Greek, Han, Kana, Hangul, Thai, Lao, Khmer, Arabic, Hebrew, Devanagari, Other };
inline constexpr std::size_t kScriptCount = 13;

struct ScriptCounts {
  std::array<std::size_t, kScriptCount> letters{};  // by Script
  std::size_t vietnamese = 0;  // Latin letters only Vietnamese uses (ă ơ ư đ and the stacked tone marks)
  std::size_t total = 0;       // all letters
  std::size_t invalid = 0;     // bytes that are not UTF-8, and C0 control characters (binary data)

  std::size_t of(Script script) const { return letters[static_cast<std::size_t>(script)]; }
  Script dominant() const;  // Other when there are no letters
};

// Decodes the UTF-8 sequence at `i` into `out` and moves `i` past it. On a byte that starts no valid
// sequence (a bad lead, a missing continuation, a truncated end) it returns false and moves one byte only, so
// the bytes after it are read again and never swallowed.
bool next_code_point(std::string_view text, std::size_t& i, char32_t& out);

// Counts letters by script. Invalid UTF-8 bytes and control characters are counted and skipped, never trusted.
ScriptCounts count_scripts(std::string_view text);

// `text` as valid UTF-8 CLD2 can score: invalid bytes and C1 controls (U+0080-U+009F, what a cp1252
// apostrophe becomes when mis-decoded as Latin-1) become a space or the punctuation they stood for. CLD2's
// UTF-8 check otherwise stops at the first such character and scores nothing after it.
std::string scrubbed_utf8(std::string_view text);

// The language a text's letters name by themselves ("ko" for Hangul, "ja" when kana are present, "vi" for
// Vietnamese letters, "lo", "km", "th"...), or "" when the script is shared by many languages (Latin).
std::string language_of_script(const ScriptCounts& counts);

// Whether `code` (ISO 639-1) is written in `script`: a hint for a language that cannot be written in the
// text's script is wrong, whatever its source.
bool written_in(std::string_view code, Script script);

}  // namespace vnawire::langid
