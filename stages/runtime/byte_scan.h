// Byte scans sixteen bytes at a time (SSE2, which every x86-64 has; a plain loop elsewhere), for the loops
// that every record's strings go through at each hop: UTF-8 validation, and the JSON reader's and writer's
// search for the next byte that needs an escape. Header-only, so that the extractor's core library, which
// does not link the runtime, shares them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vnawire::runtime {

// The bits set in x. Debian builds for the x86-64 baseline, which has no POPCNT instruction, and there
// std::popcount is a call to libgcc's __popcountdi2, a table look-up per byte: a tenth of dedupe's
// instructions on pages, where it counted the matches of every shingle block. This is a dozen
// instructions inline (or POPCNT itself when the build targets a CPU that has it).
constexpr unsigned bit_count(std::uint64_t x) {
#if defined(__POPCNT__)
  return static_cast<unsigned>(__builtin_popcountll(x));
#else
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<unsigned>((x * 0x0101010101010101ull) >> 56);
#endif
}

// The index of the first byte at or after `i` in data[0, n) that is not ASCII (>= 0x80), or n.
inline std::size_t ascii_prefix(const char* data, std::size_t i, std::size_t n) {
#if defined(__SSE2__)
  while (i + 16 <= n) {
    const int mask = _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i)));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < n && static_cast<unsigned char>(data[i]) < 0x80) ++i;
  return i;
}

// The first byte in [p, end) that a JSON string must escape: a quote, a backslash or a control byte
// (< 0x20); or end.
inline const char* find_json_special(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_top = _mm_set1_epi8(0x1F);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // max(v, 0x1F) == 0x1F exactly when v <= 0x1F, unsigned.
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, control_top), control_top);
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), control);
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p != end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
  return p;
}

// The first byte in [p, end) equal to a, b or c (pass a byte twice for a set of two); or end. For loops
// that look for a few punctuation marks in every paragraph, where a byte-by-byte test of each was most
// of their time.
inline const char* find_byte_of(const char* p, const char* end, char a, char b, char c) {
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  const __m128i vc = _mm_set1_epi8(c);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)), _mm_cmpeq_epi8(v, vc));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p != end && *p != a && *p != b && *p != c) ++p;
  return p;
}

// A word's end: the first space, tab or line feed at or after `i` in data[0, n), or n. Sets `high` when a
// byte before it is not ASCII and `digit` when one is an ASCII digit (both left as they were otherwise):
// the date tokenizer asks this of every word of every paragraph.
inline std::size_t word_end(const char* data, std::size_t i, std::size_t n, bool& high, bool& digit) {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), feed = _mm_set1_epi8('\n');
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    const auto stops = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, tab)), _mm_cmpeq_epi8(v, feed))));
    const unsigned length = stops != 0 ? static_cast<unsigned>(__builtin_ctz(stops)) : 16;
    const unsigned before = length == 16 ? 0xFFFFu : (1u << length) - 1;  // the bytes of the word
    const __m128i offset = _mm_sub_epi8(v, zero);                         // a digit: 0 to 9, unsigned
    const auto digits = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(offset, nine), offset)));
    high = high || (static_cast<unsigned>(_mm_movemask_epi8(v)) & before) != 0;
    digit = digit || (digits & before) != 0;
    if (stops != 0) return i + length;
    i += 16;
  }
#endif
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == ' ' || c == '\n' || c == '\t') break;
    high = high || c >= 0x80;
    digit = digit || static_cast<unsigned>(c - '0') < 10u;
  }
  return i;
}

// Strict UTF-8 (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF). Inline: it runs on
// every string of every record at each hop, and on every page the extractor reads.
inline bool is_valid_utf8(std::string_view bytes) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size(), i = 0;
  while (i < n) {
    // ASCII sixteen bytes at a time: every string of every record is checked at each hop (parse_json,
    // dump_json), and most of a page or a dispatch, markup, digits, spaces, Latin letters, is ASCII.
    i = ascii_prefix(bytes.data(), i, n);
    if (i == n) break;
    const unsigned char c = s[i];  // not ASCII
    // Two-byte sequences (Latin, Greek, Cyrillic letters with their marks: é, ç, ư) on their own path.
    if (c >= 0xC2 && c <= 0xDF) {
      if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return false;
      i += 2;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      return false;  // C0, C1: an overlong form of an ASCII byte
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace vnawire::runtime
