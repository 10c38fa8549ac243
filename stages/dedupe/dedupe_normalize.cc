// Normalisation with ICU: NFKD, strip combining marks, case fold, keep only letters and digits.
#include "stages/dedupe/dedupe_normalize.h"

#include <cstdio>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <xxhash.h>

namespace vnawire::dedupe {
namespace {

// Drops tags, comments, scripts and styles; the text between stays. A scanner, not a parser: enough to
// compare two renderings of the same page, and it never fails on broken markup.
std::string strip_markup(std::string_view html) {
  std::string out;
  out.reserve(html.size() / 2);
  std::size_t i = 0;
  auto skip_until = [&](std::string_view end) {
    auto found = html.find(end, i);
    i = found == std::string_view::npos ? html.size() : found + end.size();
  };
  while (i < html.size()) {
    char c = html[i];
    if (c != '<') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (html.compare(i, 4, "<!--") == 0) {
      skip_until("-->");
    } else if (html.size() - i > 7 && (html.compare(i, 7, "<script") == 0 || html.compare(i, 7, "<SCRIPT") == 0)) {
      skip_until("</script>");
    } else if (html.size() - i > 6 && (html.compare(i, 6, "<style") == 0 || html.compare(i, 6, "<STYLE") == 0)) {
      skip_until("</style>");
    } else {
      skip_until(">");
    }
    out.push_back(' ');
  }
  return out;
}

}  // namespace

std::string normalize_for_dedupe(std::string_view body, bool is_html) {
  std::string text = is_html ? strip_markup(body) : std::string(body);
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(status);
  icu::UnicodeString source = icu::UnicodeString::fromUTF8(text);
  icu::UnicodeString decomposed;
  if (U_SUCCESS(status)) {
    decomposed = nfkd->normalize(source, status);
  }
  if (U_FAILURE(status)) decomposed = source;
  icu::UnicodeString kept;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_getCombiningClass(c) != 0 || u_charType(c) == U_NON_SPACING_MARK) continue;
    if (c == 0x0111 || c == 0x0110) c = 'd';  // Vietnamese đ does not decompose
    if (u_isalnum(c)) kept.append(c);
  }
  kept.foldCase();
  std::string out;
  kept.toUTF8String(out);
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
