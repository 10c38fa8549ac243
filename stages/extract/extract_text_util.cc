// UTF-8, white-space, case and accent helpers shared by the text and HTML extractors.
#include "stages/extract/extract_text_util.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "stages/runtime/ascii_text.h"
#include "stages/runtime/byte_scan.h"

namespace vnawire::extract::util {
namespace {

// Decodes one strict UTF-8 sequence at s[i]; returns the code point and its length, or length 0.
std::pair<char32_t, std::size_t> decode(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  std::size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {0, 0};
  }
  if (i + len > s.size()) return {0, 0};
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {cp, len};
}

}  // namespace

bool looks_binary(std::string_view s) {
  if (std::memchr(s.data(), 0, s.size()) != nullptr) return true;
  // Branch-free count (the compiler vectorises it): this runs over every byte of every page. A one-byte
  // count per block of 240 bytes (15 vectors of 16) keeps the vector lanes bytes wide.
  std::size_t controls = 0;
  for (std::size_t start = 0; start < s.size(); start += 240) {
    const std::size_t end = std::min(s.size(), start + 240);
    unsigned char block = 0;
    for (std::size_t i = start; i < end; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      block += static_cast<unsigned char>((c < 0x20) & (c != '\n') & (c != '\r') & (c != '\t') & (c != '\f'));
    }
    controls += block;
  }
  // A scraped page may carry a stray control byte or two; a third of them is not text.
  return controls > 8 && controls * 50 > s.size();
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {  // a run of ASCII is copied whole
      const std::size_t j = runtime::ascii_prefix(s.data(), i + 1, s.size());
      out.append(s.data() + i, j - i);
      i = j;
      continue;
    }
    const auto [cp, len] = decode(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string to_nfc(std::string_view s) {
  if (s.size() > static_cast<std::size_t>(INT32_MAX / 2)) return std::string(s);
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || nfc == nullptr) return std::string(s);
  // Most text is already NFC: asked of the UTF-8 itself, the quick check copies nothing.
  if (nfc->isNormalizedUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), status) && U_SUCCESS(status)) {
    return std::string(s);
  }
  status = U_ZERO_ERROR;
  const icu::UnicodeString in =
      icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  // Ill-formed UTF-8 fails the check above; its UTF-16 reading (U+FFFD for each bad sequence) may pass.
  if (nfc->isNormalized(in, status) && U_SUCCESS(status)) return std::string(s);
  status = U_ZERO_ERROR;
  const icu::UnicodeString out = nfc->normalize(in, status);
  if (U_FAILURE(status)) return std::string(s);
  std::string result;
  out.toUTF8String(result);
  return result;
}

char32_t next_multibyte_code_point(std::string_view s, std::size_t& i) {
  const auto [cp, len] = decode(s, i);
  if (len == 0) {
    ++i;
    return 0xFFFD;
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::u32string to_u32(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) out += next_code_point(s, i);
  return out;
}

std::string to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char32_t c : s) append_utf8(out, c);
  return out;
}

bool is_non_ascii_space(char32_t c) {
  // Below U+1680 only U+0085 and NBSP have Unicode's White_Space property: accented letters, the
  // bulk of non-ASCII text here, are answered without asking ICU.
  if (c < 0x1680) return c == 0x85 || c == 0xA0;
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE) || c == 0x200B || c == 0xFEFF;
}

bool is_non_ascii_letter(char32_t c) {  // is_letter answers Latin-1 and Latin Extended-A inline
  const int8_t type = u_charType(static_cast<UChar32>(c));
  return u_isalpha(static_cast<UChar32>(c)) || type == U_NON_SPACING_MARK || type == U_COMBINING_SPACING_MARK;
}

// ASCII answers without ICU: most characters of a page are ASCII, and ICU's property look-ups
// cost far more than a comparison (they were a large share of the extraction's time).
bool is_non_ascii_upper(char32_t c) { return u_isupper(static_cast<UChar32>(c)) || u_istitle(static_cast<UChar32>(c)); }
bool is_lower(char32_t c) {
  if (c < 0x80) return c >= 'a' && c <= 'z';
  return u_islower(static_cast<UChar32>(c));
}
char32_t lower(char32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
  return static_cast<char32_t>(u_tolower(static_cast<UChar32>(c)));
}

std::string to_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out += static_cast<char>(b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b);
      ++i;
      continue;
    }
    append_utf8(out, lower(next_code_point(s, i)));
  }
  return out;
}

namespace {

// Whether fold_spaces would give `s` back as it is: every space a single ' ' between two non-spaces, and no
// other white space (ASCII controls, U+0085, NBSP, U+1680, U+2000-U+200B, U+2028, U+2029, U+202F, U+205F,
// U+3000, U+FEFF) nor soft hyphen, whose bytes are looked for at every offset. Most paragraphs are so, and
// this costs a few instructions a byte where folding costs a dozen.
bool spaces_already_folded(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  if (n == 0 || p[0] == ' ' || p[n - 1] == ' ') return n == 0;
  const auto at = [&](std::size_t i) -> unsigned { return i < n ? p[i] : 0u; };
  // Whether the byte at i is, or starts, what fold_spaces changes; for any byte but ASCII other than
  // spaces and controls and continuation bytes (those never are).
  const auto changes_at = [&](std::size_t i) {
    const unsigned char b = p[i];
    if (b == ' ') return at(i + 1) == ' ';
    if (b < 0x20) return true;
    if (b == 0xC2) return at(i + 1) == 0x85 || at(i + 1) == 0xA0 || at(i + 1) == 0xAD;
    if (b == 0xE1) return at(i + 1) == 0x9A && at(i + 2) == 0x80;
    if (b == 0xE2) {
      const unsigned c = at(i + 2);
      return (at(i + 1) == 0x80 && ((c >= 0x80 && c <= 0x8B) || c == 0xA8 || c == 0xA9 || c == 0xAF)) ||
             (at(i + 1) == 0x81 && c == 0x9F);
    }
    if (b == 0xE3) return at(i + 1) == 0x80 && at(i + 2) == 0x80;
    if (b == 0xEF) return at(i + 1) == 0xBB && at(i + 2) == 0xBF;
    return false;
  };
  std::size_t i = 0;
#if defined(__SSE2__)
  // Sixteen bytes at a time: a block without a control byte, two spaces in a row or the lead byte of one of
  // the sequences above is passed whole; in the others only those bytes are looked at. French text has a
  // space every few bytes and an accent every few words, which a byte-by-byte test stopped at.
  const __m128i control_top = _mm_set1_epi8(0x1F);
  const __m128i space = _mm_set1_epi8(' ');
  while (i + 17 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    __m128i hit = _mm_cmpeq_epi8(_mm_max_epu8(v, control_top), control_top);  // below 0x20
    hit = _mm_or_si128(hit, _mm_and_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(next, space)));
    for (const char lead : {'\xC2', '\xE1', '\xE2', '\xE3', '\xEF'}) {
      hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, _mm_set1_epi8(lead)));
    }
    for (auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit)); mask != 0; mask &= mask - 1) {
      if (changes_at(i + static_cast<std::size_t>(__builtin_ctz(mask)))) return false;
    }
    i += 16;
  }
#endif
  for (; i < n; ++i) {
    const unsigned char b = p[i];
    if (b > 0x20 && b < 0xC2) continue;  // ASCII other than spaces and controls, continuation bytes
    if (changes_at(i)) return false;
  }
  return true;
}

}  // namespace

std::string fold_spaces(std::string_view s) {
  if (spaces_already_folded(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80 && b != ' ' && (b < '\t' || b > '\r')) {  // a run of ASCII non-spaces: copied whole
      std::size_t j = i + 1;
      while (j < s.size() && static_cast<unsigned char>(s[j]) < 0x80 && s[j] != ' ' && (s[j] < '\t' || s[j] > '\r'))
        ++j;
      if (pending) out += ' ';
      pending = false;
      out.append(s.data() + i, j - i);
      i = j;
      continue;
    }
    const std::size_t start = i;
    const char32_t c = next_code_point(s, i);
    if (is_space(c)) {
      pending = !out.empty();
      continue;
    }
    if (c == 0xAD) continue;  // soft hyphen: invisible, and it would break words apart
    if (pending) out += ' ';
    pending = false;
    out.append(s.substr(start, i - start));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return s.substr(b, e - b);
}

namespace {

// The base letters of c's canonical decomposition, marks dropped, in UTF-8 ("ệ" -> "e", a lone mark -> "").
void append_base_letters(std::string& out, char32_t c) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  if (nfd == nullptr || U_FAILURE(status)) {
    append_utf8(out, c);
    return;
  }
  icu::UnicodeString decomposed;
  if (!nfd->getDecomposition(static_cast<UChar32>(c), decomposed) || decomposed.length() == 0) {
    if (u_charType(static_cast<UChar32>(c)) != U_NON_SPACING_MARK) append_utf8(out, c);
    return;
  }
  for (int32_t k = 0; k < decomposed.length();) {
    const UChar32 d = decomposed.char32At(k);
    k += U16_LENGTH(d);
    if (u_charType(d) != U_NON_SPACING_MARK) append_utf8(out, static_cast<char32_t>(d));
  }
}

// What fold_key makes of one code point: white space, or its lower-case base letters.
struct FoldedCodePoint {
  bool space = false;
  std::string text;
};

FoldedCodePoint fold_code_point(char32_t c) {
  FoldedCodePoint f;
  c = lower(c);
  if (is_space(c)) {
    f.space = true;
    return f;
  }
  if (c == U'đ') c = U'd';
  if (c < 0x80) {
    append_utf8(f.text, c);
  } else {
    append_base_letters(f.text, c);
  }
  return f;
}

// fold_code_point of every code point from U+0080 to U+1FFF (Latin, Vietnamese, Greek, Cyrillic, the
// combining marks), worked out once: asking ICU for the case and decomposition of each accented letter of
// each word was a large share of the entity rules' time.
constexpr char32_t kFoldTableEnd = 0x2000;

const std::vector<FoldedCodePoint>& fold_table() {
  static const std::vector<FoldedCodePoint> table = [] {
    std::vector<FoldedCodePoint> t(kFoldTableEnd);
    for (char32_t c = 0x80; c < kFoldTableEnd; ++c) t[c] = fold_code_point(c);
    return t;
  }();
  return table;
}

}  // namespace

void append_folded(std::string& out, char32_t c, bool& pending) {
  if (c < 0x80) {
    if (c == ' ' || (c >= '\t' && c <= '\r')) {
      pending = !out.empty();
      return;
    }
    if (pending) out += ' ';
    pending = false;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    return;
  }
  const FoldedCodePoint computed = c < kFoldTableEnd ? FoldedCodePoint{} : fold_code_point(c);
  const FoldedCodePoint& f = c < kFoldTableEnd ? fold_table()[c] : computed;
  if (f.space) {
    pending = !out.empty();
    return;
  }
  if (pending) out += ' ';
  pending = false;
  out += f.text;
}

std::string fold_key(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (std::size_t i = 0; i < s.size();) {
    // A run of ASCII non-spaces (most of any key) is lower-cased here, as append_folded would.
    std::size_t j = i;
    while (j < s.size()) {
      const auto b = static_cast<unsigned char>(s[j]);
      if (b >= 0x80 || b == ' ' || (b >= '\t' && b <= '\r')) break;
      ++j;
    }
    if (j > i) {
      if (pending) out += ' ';
      pending = false;
      for (; i < j; ++i) out += runtime::ascii_lower(s[i]);
      continue;
    }
    append_folded(out, next_code_point(s, i), pending);
  }
  return out;
}

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> lines;
  // Line ends found sixteen bytes at a time: this reads every paragraph, and the 90,000 lines of the
  // dictionaries at start.
  const char* const end = s.data() + s.size();
  const auto line_end = [&](std::size_t from) {
    return static_cast<std::size_t>(runtime::find_byte_of(s.data() + from, end, '\n', '\r', '\n') - s.data());
  };
  std::size_t start = 0;
  for (std::size_t i = line_end(0); i < s.size(); i = line_end(start)) {
    lines.push_back(s.substr(start, i - start));
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < s.size()) lines.push_back(s.substr(start));
  return lines;
}

std::size_t length_chars(std::string_view s) {
  std::size_t n = 0;
  for (const char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

}  // namespace vnawire::extract::util
