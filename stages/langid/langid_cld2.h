// Language identification with CLD2 (Debian libcld2, its 83-language tables).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vnawire::langid {

struct LanguageShare {
  std::string code;  // ISO 639-1 where one exists ("fr", "vi", "zh"), "und" when unknown
  int percent = 0;   // share of the text's letters
};

struct Detection {
  std::string code = "und";
  double confidence = 0.0;  // 0..1: the top language's share of the text, 0 when unreliable and unknown
  bool reliable = false;
  std::vector<LanguageShare> top;  // up to three, largest first
  int text_bytes = 0;              // the letters CLD2 scored
  bool sampled = false;            // decided on a sample of a long text (langid_identify.h)
  std::string from = "cld2";  // what decided the code: "cld2", "hint:<source>", "script", "ngram" or "none"
};

// Beyond a few hundred KB CLD2's answer does not change: detect_language() reads at most this much.
inline constexpr std::size_t kMaxDetectBytes = 512 * 1024;

// `is_html` lets CLD2 skip tags, scripts and styles and expand entities.
Detection detect_language(std::string_view text, bool is_html);

// CLD2's code for a language mapped to ISO 639-1 ("zh-Hant" -> "zh", "un" -> "und").
std::string iso_code(std::string_view cld2_code);

}  // namespace vnawire::langid
