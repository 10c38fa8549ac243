// Normalisation with ICU: NFKD, strip combining marks, case fold, keep only letters and digits.
#include "stages/dedupe/dedupe_normalize.h"

#include <cctype>
#include <cstdio>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <xxhash.h>

namespace vnawire::dedupe {
namespace {

bool starts_block(std::string_view tag) {
  static constexpr std::string_view kBlocks[] = {"p",  "br", "div", "li", "h1",         "h2",     "h3",      "h4",
                                                 "h5", "h6", "tr",  "td", "figcaption", "figure", "section", "article"};
  std::size_t i = 1;
  if (i < tag.size() && tag[i] == '/') ++i;
  std::size_t end = i;
  while (end < tag.size() && std::isalnum(static_cast<unsigned char>(tag[end]))) ++end;
  std::string name(tag.substr(i, end - i));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view block : kBlocks) {
    if (name == block) return true;
  }
  return false;
}

}  // namespace

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
    const bool block = starts_block(html.substr(i));
    if (html.compare(i, 4, "<!--") == 0) {
      skip_until("-->");
    } else if (html.size() - i > 7 && (html.compare(i, 7, "<script") == 0 || html.compare(i, 7, "<SCRIPT") == 0)) {
      skip_until("</script>");
    } else if (html.size() - i > 6 && (html.compare(i, 6, "<style") == 0 || html.compare(i, 6, "<STYLE") == 0)) {
      skip_until("</style>");
    } else {
      skip_until(">");
    }
    // Block tags end a line: boilerplate (captions, related blocks) is recognised line by line.
    out.push_back(block ? '\n' : ' ');
  }
  return out;
}

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
