// Body to UTF-8: each declaration is tried in order and kept only if the bytes can bear it; ICU converts.
#include "stages/fetch/fetch_charset.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/ucsdet.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "stages/fetch/fetch_text.h"
#include "stages/runtime/byte_scan.h"

namespace vnawire::fetch {
namespace {

// How far into a body a <meta> or XML declaration is looked for (the HTML prescan reads 1024 bytes;
// pages with long <head> scripts put their <meta> later, so a little more).
constexpr std::size_t kPrescanBytes = 4096;

using Converter = std::unique_ptr<UConverter, decltype(&ucnv_close)>;
using Detector = std::unique_ptr<UCharsetDetector, decltype(&ucsdet_close)>;

std::string_view unquoted(std::string_view text) {
  text = trim(text, kHtmlSpace);
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') && text.back() == text.front()) {
    text = text.substr(1, text.size() - 2);
  }
  return trim(text, kHtmlSpace);
}

// Labels that WHATWG's Encoding Standard maps to a superset: pages labelled Latin-1 or ASCII are written in
// windows-1252 (curly quotes, the euro sign) and decoding them strictly as declared would mangle those.
std::string whatwg_label(std::string label) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 20> kSupersets = {{
      {"iso-8859-1", "windows-1252"},
      {"iso8859-1", "windows-1252"},
      {"iso_8859-1", "windows-1252"},
      {"latin1", "windows-1252"},
      {"l1", "windows-1252"},
      {"cp819", "windows-1252"},
      {"us-ascii", "windows-1252"},
      {"ascii", "windows-1252"},
      {"iso-8859-9", "windows-1254"},
      {"latin5", "windows-1254"},
      {"tis-620", "windows-874"},
      {"iso-8859-11", "windows-874"},
      {"gb2312", "GBK"},
      {"x-gbk", "GBK"},
      {"ks_c_5601-1987", "windows-949"},
      {"euc-kr", "windows-949"},
      {"utf-16", "UTF-16LE"},
      {"unicode", "UTF-16LE"},
      {"utf8", "UTF-8"},
      {"unicode-1-1-utf-8", "UTF-8"},
  }};
  for (const auto& [from, to] : kSupersets) {
    if (label == from) return std::string(to);
  }
  return label;
}

Converter open_converter(const std::string& label) {
  UErrorCode status = U_ZERO_ERROR;
  Converter converter(ucnv_open(label.c_str(), &status), ucnv_close);
  if (U_FAILURE(status)) converter.reset();
  return converter;
}

// The name a reader recognises: the MIME or IANA one ("windows-1252"), not ICU's table ("ibm-5348_P100-1997").
std::string charset_name(const UConverter* converter) {
  UErrorCode status = U_ZERO_ERROR;
  const char* internal = ucnv_getName(converter, &status);
  if (U_FAILURE(status)) return "";
  for (const char* standard : {"MIME", "IANA"}) {
    status = U_ZERO_ERROR;
    const char* name = ucnv_getStandardName(internal, standard, &status);
    if (U_SUCCESS(status) && name != nullptr) return name;
  }
  return internal;
}

// Counts of a UTF-8 scan: strict validity, and how much multi-byte text there is against how many bad bytes.
struct Utf8Scan {
  bool valid = true;
  bool has_nul = false;
  std::size_t multibyte = 0;  // well-formed sequences of two to four bytes
  std::size_t invalid = 0;    // ill-formed sequences
};

// Hand-rolled rather than ICU: it must tell a mostly-UTF-8 page with a stray byte from a legacy page.
// Ill-formed input is counted in maximal subparts (Unicode's unit for U+FFFD), so "\xE1\xBA" missing its last
// byte counts once; and a character cut off by the end of the body (a byte limit) is not counted at all.
Utf8Scan scan_utf8(std::string_view text) {
  Utf8Scan scan;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  // A NUL is never part of a sequence (it cannot continue one), so any NUL byte is one the scan meets.
  scan.has_nul = size != 0 && std::memchr(bytes, 0, size) != nullptr;
  for (std::size_t i = 0; i < size;) {
    // ASCII sixteen bytes at a time: most of a page is markup.
    if (const std::size_t ascii_end = runtime::ascii_prefix(text.data(), i, size); ascii_end != i) {
      i = ascii_end;
      continue;
    }
    const unsigned char lead = bytes[i];
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // bounds of the second byte (no overlongs, surrogates, > U+10FFFF)
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    }
    std::size_t fitting = 1;  // the lead, then each following byte the sequence accepts
    while (length != 0 && fitting < length && i + fitting < size) {
      const unsigned char next = bytes[i + fitting];
      if (fitting == 1 ? (next < low || next > high) : (next & 0xC0) != 0x80) break;
      ++fitting;
    }
    if (length != 0 && fitting == length) {
      ++scan.multibyte;
    } else {
      scan.valid = false;
      if (length != 0 && i + fitting == size) break;  // cut off by the end of the body
      ++scan.invalid;
    }
    i += fitting;
  }
  return scan;
}

// A page in UTF-8 with a few broken bytes (a truncated paste) is still UTF-8; treating it as legacy would turn
// every Vietnamese letter into mojibake to save a handful of replacement characters. Legacy Latin text is the
// opposite: every accented letter is an ill-formed sequence and well-formed ones are accidents, so four to one
// is a wide margin. A declared UTF-8 is believed unless the bytes speak against it like that.
bool could_be_utf8(const Utf8Scan& scan) { return scan.invalid == 0 || scan.multibyte >= 4 * scan.invalid; }

// Undeclared, UTF-8 also needs a character in its favour: "Caf\xE9" at the end of a body is windows-1252, not a
// UTF-8 sequence cut short.
bool looks_like_utf8(const Utf8Scan& scan) { return scan.valid || (scan.multibyte > 0 && could_be_utf8(scan)); }

struct Declaration {
  std::string label;
  std::string source;
};

std::optional<Declaration> byte_order_mark(std::string_view body) {
  if (body.starts_with("\xEF\xBB\xBF")) return Declaration{"UTF-8", "bom"};
  if (body.starts_with("\xFF\xFE")) return Declaration{"UTF-16LE", "bom"};
  if (body.starts_with("\xFE\xFF")) return Declaration{"UTF-16BE", "bom"};
  return std::nullopt;
}

std::size_t bom_length(std::string_view body) { return body.starts_with("\xEF\xBB\xBF") ? 3 : 2; }

// The attributes of one tag's text after its name, names lower-cased: `a="x" b='y' c=z d`.
std::vector<std::pair<std::string, std::string>> attributes_of(std::string_view tag) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  auto skip_spaces = [&] {
    while (i < tag.size() && is_space(tag[i], kHtmlSpace)) ++i;
  };
  while (i < tag.size()) {
    while (i < tag.size() && (is_space(tag[i], kHtmlSpace) || tag[i] == '/')) ++i;
    const std::size_t name_start = i;
    while (i < tag.size() && !is_space(tag[i], kHtmlSpace) && tag[i] != '=' && tag[i] != '/') ++i;
    std::string name = ascii_lowered(tag.substr(name_start, i - name_start));
    skip_spaces();
    std::string value;
    if (i < tag.size() && tag[i] == '=') {
      ++i;
      skip_spaces();
      if (i < tag.size() && (tag[i] == '"' || tag[i] == '\'')) {
        const std::size_t close = tag.find(tag[i], i + 1);
        const std::size_t end = close == std::string_view::npos ? tag.size() : close;
        value = std::string(tag.substr(i + 1, end - i - 1));
        i = end + 1;
      } else {
        const std::size_t value_start = i;
        while (i < tag.size() && !is_space(tag[i], kHtmlSpace)) ++i;
        value = std::string(tag.substr(value_start, i - value_start));
      }
    } else if (name.empty()) {
      ++i;  // a stray "=": step over it
    }
    if (!name.empty()) out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::string attribute(const std::vector<std::pair<std::string, std::string>>& attributes, std::string_view name) {
  for (const auto& [key, value] : attributes) {
    if (key == name) return value;
  }
  return "";
}

std::optional<Declaration> xml_declaration(std::string_view head) {
  head = trim(head, kHtmlSpace);
  if (!head.starts_with("<?xml")) return std::nullopt;
  const std::size_t end = head.find("?>");
  const std::string encoding =
      attribute(attributes_of(head.substr(5, end == std::string_view::npos ? end : end - 5)), "encoding");
  if (encoding.empty()) return std::nullopt;
  return Declaration{ascii_lowered(trim(encoding, kHtmlSpace)), "xml"};
}

std::optional<Declaration> meta_declaration(std::string_view head) {
  const std::string lowered = ascii_lowered(head);
  std::size_t i = 0;
  while (i < lowered.size()) {
    // Both things looked for start with '<': the bytes up to the next one are skipped whole.
    i = lowered.find('<', i);
    if (i == std::string::npos) break;
    if (lowered.compare(i, 4, "<!--") == 0) {  // a commented-out <meta> is not a declaration
      const std::size_t close = lowered.find("-->", i + 4);
      if (close == std::string::npos) break;
      i = close + 3;
      continue;
    }
    if (lowered.compare(i, 5, "<meta") == 0 && i + 5 < lowered.size() &&
        (is_space(lowered[i + 5], kHtmlSpace) || lowered[i + 5] == '/')) {
      const std::size_t close = lowered.find('>', i);
      const std::string_view tag = head.substr(i + 5, close == std::string::npos ? std::string::npos : close - i - 5);
      const auto attributes = attributes_of(tag);
      std::string label = attribute(attributes, "charset");
      if (label.empty() && ascii_lowered(trim(attribute(attributes, "http-equiv"), kHtmlSpace)) == "content-type") {
        label = charset_of_content_type(attribute(attributes, "content"));
      }
      label = ascii_lowered(trim(label, kHtmlSpace));
      // A <meta> readable as ASCII rules out UTF-16, so WHATWG reads that label as UTF-8.
      if (label.starts_with("utf-16")) label = "utf-8";
      if (!label.empty()) return Declaration{label, "meta"};
      if (close == std::string::npos) break;
      i = close + 1;
      continue;
    }
    ++i;
  }
  return std::nullopt;
}

bool is_utf8(const std::string& icu_name) { return icu_name == "UTF-8"; }
bool is_utf16_or_32(const std::string& icu_name) {
  return icu_name.starts_with("UTF-16") || icu_name.starts_with("UTF-32");
}

// Whether the bytes can bear a charset: what "cannot be right" means in the header.
bool plausible(const UConverter* converter, const std::string& name, const Utf8Scan& scan) {
  if (is_utf8(name)) return could_be_utf8(scan);
  const bool multibyte_utf8 = scan.valid && scan.multibyte > 0;
  if (ucnv_getMaxCharSize(converter) == 1) return !multibyte_utf8;
  // Real UTF-16 or UTF-32 text has NUL bytes (every ASCII character, space included, has one); without any,
  // ICU's weak UTF-16 guesses would turn a short Latin text into CJK.
  if (is_utf16_or_32(name)) return scan.has_nul;
  return true;
}

// Malformed or unmapped bytes become U+FFFD rather than stopping the conversion: one bad byte must not lose a
// story. ICU's own substitute callback gives U+001A (a control character) for some legacy charsets.
void replace_with_fffd(const void* /*context*/, UConverterToUnicodeArgs* args, const char* /*bytes*/,
                       int32_t /*length*/, UConverterCallbackReason reason, UErrorCode* status) {
  if (reason > UCNV_IRREGULAR) return;  // reset, close, clone: nothing to replace
  static constexpr UChar kReplacement = 0xFFFD;
  *status = U_ZERO_ERROR;
  ucnv_cbToUWriteUChars(args, &kReplacement, 1, 0, status);
}

std::string to_utf8(UConverter* converter, std::string_view bytes) {
  UErrorCode status = U_ZERO_ERROR;
  ucnv_setToUCallBack(converter, replace_with_fffd, nullptr, nullptr, nullptr, &status);
  std::u16string utf16(bytes.size() * 2 + 16, u'\0');  // ICU's bound: a byte gives at most a surrogate pair
  status = U_ZERO_ERROR;
  const int32_t units = ucnv_toUChars(converter, utf16.data(), static_cast<int32_t>(utf16.size()), bytes.data(),
                                      static_cast<int32_t>(bytes.size()), &status);
  if (U_FAILURE(status)) return "";
  utf16.resize(static_cast<std::size_t>(units));

  // windows-1258 writes Vietnamese tones as combining marks; the rest of the pipeline (and every UTF-8 page)
  // uses precomposed letters, so the result is put in NFC.
  if (charset_name(converter) == "windows-1258") {
    status = U_ZERO_ERROR;
    const UNormalizer2* nfc = unorm2_getNFCInstance(&status);
    std::u16string composed(utf16.size() * 3 + 16, u'\0');  // NFC grows text at most threefold
    const int32_t length = unorm2_normalize(nfc, utf16.data(), static_cast<int32_t>(utf16.size()), composed.data(),
                                            static_cast<int32_t>(composed.size()), &status);
    if (U_SUCCESS(status)) {
      composed.resize(static_cast<std::size_t>(length));
      utf16 = std::move(composed);
    }
  }

  std::string utf8(utf16.size() * 3, '\0');
  int32_t length = 0;
  status = U_ZERO_ERROR;
  u_strToUTF8WithSub(utf8.data(), static_cast<int32_t>(utf8.size()), &length, utf16.data(),
                     static_cast<int32_t>(utf16.size()), 0xFFFD, nullptr, &status);
  if (U_FAILURE(status)) return "";
  utf8.resize(static_cast<std::size_t>(length));
  return utf8;
}

DecodedText decoded(std::string_view bytes, const Utf8Scan& scan, UConverter* converter, std::string source) {
  DecodedText out;
  out.charset = charset_name(converter);
  out.source = std::move(source);
  // Valid UTF-8 is already what we want; copying spares a round trip through UTF-16.
  out.utf8 = is_utf8(out.charset) && scan.valid ? std::string(bytes) : to_utf8(converter, bytes);
  return out;
}

struct Guess {
  Converter converter;
  std::string name;
  int32_t confidence;
};

// ICU's ranked guesses, minus the ones the bytes already ruled out, with a thumb on the scale for
// windows-1252: it is by far the commonest legacy charset, and on a short text ICU's n-gram scores for the
// Latin charsets are close and noisy ("Le garçon a mangé une crêpe" scores higher as Romanian ISO-8859-2).
// So windows-1252 wins unless ICU is sure (50+) and clearly prefers another (by more than 20 points).
std::optional<DecodedText> detected(std::string_view body, const Utf8Scan& scan) {
  constexpr int32_t kSure = 50;
  constexpr int32_t kClearMargin = 20;
  UErrorCode status = U_ZERO_ERROR;
  Detector detector(ucsdet_open(&status), ucsdet_close);
  if (U_FAILURE(status)) return std::nullopt;
  ucsdet_enableInputFilter(detector.get(), true);  // markup is ASCII and says nothing about the charset
  ucsdet_setText(detector.get(), body.data(), static_cast<int32_t>(body.size()), &status);
  int32_t count = 0;
  const UCharsetMatch** matches = ucsdet_detectAll(detector.get(), &count, &status);
  if (U_FAILURE(status)) return std::nullopt;
  std::vector<Guess> guesses;
  for (int32_t i = 0; i < count; ++i) {
    status = U_ZERO_ERROR;
    const char* name = ucsdet_getName(matches[i], &status);
    const int32_t confidence = ucsdet_getConfidence(matches[i], &status);
    if (U_FAILURE(status) || name == nullptr) continue;
    Converter converter = open_converter(whatwg_label(ascii_lowered(name)));
    if (!converter) continue;
    std::string icu_name = charset_name(converter.get());
    if (is_utf8(icu_name) || !plausible(converter.get(), icu_name, scan)) continue;
    guesses.push_back(Guess{std::move(converter), std::move(icu_name), confidence});
  }
  if (guesses.empty()) return std::nullopt;
  const Guess* chosen = &guesses.front();
  const auto western =
      std::find_if(guesses.begin(), guesses.end(), [](const Guess& g) { return g.name == "windows-1252"; });
  if (western != guesses.end() && ucnv_getMaxCharSize(chosen->converter.get()) == 1 &&
      (chosen->confidence < kSure || chosen->confidence - western->confidence <= kClearMargin)) {
    chosen = &*western;
  }
  return decoded(body, scan, chosen->converter.get(), "detected");
}

}  // namespace

std::string charset_of_content_type(std::string_view content_type) {
  std::size_t semicolon = content_type.find(';');
  while (semicolon != std::string_view::npos) {
    const std::size_t next = content_type.find(';', semicolon + 1);
    const std::string_view parameter = content_type.substr(
        semicolon + 1, next == std::string_view::npos ? std::string_view::npos : next - semicolon - 1);
    const std::size_t equals = parameter.find('=');
    if (equals != std::string_view::npos && ascii_lowered(trim(parameter.substr(0, equals), kHtmlSpace)) == "charset") {
      return ascii_lowered(unquoted(parameter.substr(equals + 1)));
    }
    semicolon = next;
  }
  return "";
}

runtime::Result<DecodedText> decode_to_utf8(std::string_view body, std::string_view content_type) {
  // ICU counts in int32_t, and a byte may become two UTF-16 units and those six bytes of UTF-8.
  if (body.size() > static_cast<std::size_t>(std::numeric_limits<int32_t>::max() / 6)) {
    return runtime::Status::error("body of " + std::to_string(body.size()) + " bytes is too large to decode");
  }
  // A BOM is the one declaration the bytes make about themselves; it is stripped before anything else.
  if (const auto bom = byte_order_mark(body)) {
    const std::string_view rest = body.substr(bom_length(body));
    Converter converter = open_converter(bom->label);
    if (converter) return decoded(rest, scan_utf8(rest), converter.get(), bom->source);
  }

  const Utf8Scan scan = scan_utf8(body);
  std::vector<Declaration> declarations;
  if (const std::string header = charset_of_content_type(content_type); !header.empty()) {
    declarations.push_back({header, "header"});
  }
  const std::string_view head = body.substr(0, kPrescanBytes);
  if (auto xml = xml_declaration(head)) {
    declarations.push_back(std::move(*xml));
  } else if (auto meta = meta_declaration(head)) {
    declarations.push_back(std::move(*meta));
  }

  std::string unknown;
  for (const auto& declaration : declarations) {
    Converter converter = open_converter(whatwg_label(declaration.label));
    if (!converter) {
      if (unknown.empty()) unknown = declaration.label;
      continue;
    }
    if (plausible(converter.get(), charset_name(converter.get()), scan)) {
      return decoded(body, scan, converter.get(), declaration.source);
    }
  }

  // Nothing usable declared. NUL bytes suggest UTF-16 without a BOM, which is valid UTF-8 byte by byte.
  if (looks_like_utf8(scan) && !scan.has_nul) {
    Converter utf8 = open_converter("UTF-8");
    return decoded(body, scan, utf8.get(), scan.valid && declarations.empty() ? "utf-8" : "detected");
  }
  if (auto guess = detected(body, scan)) return std::move(*guess);
  if (scan.valid) {
    Converter utf8 = open_converter("UTF-8");
    return decoded(body, scan, utf8.get(), declarations.empty() ? "utf-8" : "detected");
  }
  if (!unknown.empty()) return runtime::Status::error("unknown charset \"" + unknown + "\" and no usable guess");
  // windows-1252 maps nearly every byte, so text survives even when the guess is poor.
  Converter fallback = open_converter("windows-1252");
  return decoded(body, scan, fallback.get(), "detected");
}

}  // namespace vnawire::fetch
