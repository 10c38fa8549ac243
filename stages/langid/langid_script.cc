// Script counting and HTML visible text for langid (no allocation per letter, one pass over the bytes).
#include "stages/langid/langid_script.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "stages/runtime/byte_scan.h"

namespace vnawire::langid {
namespace {

bool is_vietnamese_letter(char32_t c) {
  // Latin Extended Additional holds the stacked tone marks (ạ ấ ộ ữ...); the rest no other VNA language uses.
  return (c >= 0x1EA0 && c <= 0x1EF9) || std::u32string_view(U"ăĂơƠưƯđĐĩĨũŨ").find(c) != std::u32string_view::npos;
}

// The script of a letter, or nullopt-like Other for digits, punctuation and symbols (which do not count).
bool letter_script(char32_t c, Script& script) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) ||
      (c >= 0x1E00 && c <= 0x1EFF)) {
    script = Script::Latin;
  } else if (c >= 0x400 && c <= 0x52F) {
    script = Script::Cyrillic;
  } else if (c >= 0x370 && c <= 0x3FF) {
    script = Script::Greek;
  } else if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF)) {
    script = Script::Han;
  } else if ((c >= 0x3041 && c <= 0x30FF && c != 0x30FB && c != 0x30FC) || (c >= 0x31F0 && c <= 0x31FF) ||
             (c >= 0xFF66 && c <= 0xFF9D)) {
    script = Script::Kana;
  } else if ((c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3130 && c <= 0x318F)) {
    script = Script::Hangul;
  } else if (c >= 0xE01 && c <= 0xE5B) {
    script = Script::Thai;
  } else if (c >= 0xE81 && c <= 0xEDF) {
    script = Script::Lao;
  } else if ((c >= 0x1780 && c <= 0x17FF) || (c >= 0x19E0 && c <= 0x19FF)) {
    script = Script::Khmer;
  } else if ((c >= 0x600 && c <= 0x6FF) || (c >= 0x750 && c <= 0x77F)) {
    script = Script::Arabic;
  } else if (c >= 0x5D0 && c <= 0x5EA) {
    script = Script::Hebrew;
  } else if (c >= 0x900 && c <= 0x97F) {
    script = Script::Devanagari;
  } else if (c > 0x2FFF) {
    script = Script::Other;  // other scripts of the BMP and beyond; symbols below 0x3000 do not count
    return c < 0xFF00 || c > 0xFFEF;
  } else {
    return false;
  }
  return true;
}

// Control characters do not occur in text: binary data.
bool is_binary_control(char32_t c) { return c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f'; }

constexpr std::size_t kNotAsciiBlock = static_cast<std::size_t>(-1);

// The ASCII letters among text[i, i + 16), or kNotAsciiBlock when fewer than sixteen bytes are left or the
// block holds a byte that is not ASCII or is below 0x20 (which count_scripts looks at one by one).
std::size_t ascii_block_letters(std::string_view text, std::size_t i) {
#if defined(__SSE2__)
  if (i + 16 > text.size()) return kNotAsciiBlock;
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
  // Signed compare: bytes >= 0x80 are negative, so "> 0x1F" leaves out both them and the control bytes.
  if (_mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1F))) != 0xFFFF) return kNotAsciiBlock;
  // 'a'..'z' (either case, after | 0x20) moved to the bottom of the signed range: -128..-103.
  const __m128i shifted =
      _mm_add_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8(static_cast<char>(0x80 - 'a')));
  const __m128i letters = _mm_cmplt_epi8(shifted, _mm_set1_epi8(static_cast<char>(0x80 + 26)));  // below -102
  return runtime::bit_count(static_cast<unsigned>(_mm_movemask_epi8(letters)));
#else
  (void)text;
  (void)i;
  return kNotAsciiBlock;
#endif
}

}  // namespace

bool next_code_point(std::string_view text, std::size_t& i, char32_t& out) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || i + length > text.size()) {
    ++i;
    return false;
  }
  char32_t value = length == 1 ? lead : lead & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return false;
    }
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  i += length;
  out = value;
  return true;
}

Script ScriptCounts::dominant() const {
  const auto best = std::max_element(letters.begin(), letters.end());
  if (*best == 0) return Script::Other;
  return static_cast<Script>(best - letters.begin());
}

ScriptCounts count_scripts(std::string_view text) {
  ScriptCounts counts;
  auto& latin = counts.letters[static_cast<std::size_t>(Script::Latin)];
  for (std::size_t i = 0; i < text.size();) {
    // Sixteen ASCII bytes without control bytes at a time: their letters are counted in one go.
    if (const std::size_t n = ascii_block_letters(text, i); n != kNotAsciiBlock) {
      latin += n;
      counts.total += n;
      i += 16;
      continue;
    }
    if (const auto byte = static_cast<unsigned char>(text[i]); byte < 0x80) {  // ASCII, most of a Latin text
      ++i;
      if (const unsigned char lower = byte | 0x20; lower >= 'a' && lower <= 'z') {
        ++latin;
        ++counts.total;
      } else if (is_binary_control(byte)) {
        ++counts.invalid;
      }
      continue;
    }
    char32_t c = 0;
    if (!next_code_point(text, i, c)) {
      ++counts.invalid;
      continue;
    }
    if (is_binary_control(c)) {
      ++counts.invalid;
      continue;
    }
    Script script = Script::Other;
    if (!letter_script(c, script)) continue;
    ++counts.letters[static_cast<std::size_t>(script)];
    ++counts.total;
    if (script == Script::Latin && c >= 0x100 && is_vietnamese_letter(c)) ++counts.vietnamese;
  }
  return counts;
}

std::string scrubbed_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    if (static_cast<unsigned char>(text[i]) < 0x80) {  // a run of ASCII is copied whole
      i = runtime::ascii_prefix(text.data(), i, text.size());
      out.append(text.substr(start, i - start));
      continue;
    }
    char32_t c = 0;
    if (!next_code_point(text, i, c)) {
      out.push_back(' ');
      continue;
    }
    if (c >= 0x80 && c <= 0x9F) {
      out.push_back(c == 0x91 || c == 0x92 ? '\'' : c == 0x93 || c == 0x94 ? '"' : ' ');
      continue;
    }
    out.append(text.substr(start, i - start));
  }
  return out;
}

std::string language_of_script(const ScriptCounts& counts) {
  if (counts.total == 0) return "";
  // Japanese mixes kanji and kana; a few kana among Han are enough to tell it from Chinese.
  if (counts.of(Script::Kana) > 0 && counts.of(Script::Kana) * 10 >= counts.of(Script::Han)) return "ja";
  switch (counts.dominant()) {
    case Script::Hangul:
      return "ko";
    case Script::Han:
      return "zh";
    case Script::Kana:
      return "ja";
    case Script::Thai:
      return "th";
    case Script::Lao:
      return "lo";
    case Script::Khmer:
      return "km";
    case Script::Greek:
      return "el";
    case Script::Hebrew:
      return "he";
    case Script::Latin:
      // Vietnamese marks nearly every syllable; one such letter in a short text is already telling.
      return counts.vietnamese > 0 && counts.vietnamese * 20 >= counts.of(Script::Latin) ? "vi" : "";
    default:
      return "";  // Cyrillic, Arabic, Devanagari: many languages share them
  }
}

bool written_in(std::string_view code, Script script) {
  static constexpr std::pair<std::string_view, Script> kScripts[] = {
      {"ru", Script::Cyrillic},   {"uk", Script::Cyrillic}, {"bg", Script::Cyrillic},   {"sr", Script::Cyrillic},
      {"mk", Script::Cyrillic},   {"be", Script::Cyrillic}, {"kk", Script::Cyrillic},   {"mn", Script::Cyrillic},
      {"ky", Script::Cyrillic},   {"el", Script::Greek},    {"zh", Script::Han},        {"ja", Script::Kana},
      {"ja", Script::Han},        {"ko", Script::Hangul},   {"ko", Script::Han},        {"th", Script::Thai},
      {"lo", Script::Lao},        {"km", Script::Khmer},    {"ar", Script::Arabic},     {"fa", Script::Arabic},
      {"ur", Script::Arabic},     {"he", Script::Hebrew},   {"hi", Script::Devanagari}, {"ne", Script::Devanagari},
      {"mr", Script::Devanagari},
  };
  bool listed = false;
  for (const auto& [language, written] : kScripts) {
    if (language != code) continue;
    if (written == script) return true;
    listed = true;
  }
  return !listed && script == Script::Latin;  // every other language VNA meets is written in Latin letters
}

}  // namespace vnawire::langid
