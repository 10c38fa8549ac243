// CLD2 wrapper: the CheckUTF8 entry point, because documents come from the network.
#include "stages/langid/langid_cld2.h"

#include <cstdio>  // compact_lang_det.h uses FILE without including it

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>

#include <climits>

namespace vnawire::langid {

std::string iso_code(std::string_view cld2_code) {
  if (cld2_code.empty() || cld2_code == "un" || cld2_code == "xxx") return "und";
  auto dash = cld2_code.find('-');
  return std::string(dash == std::string_view::npos ? cld2_code : cld2_code.substr(0, dash));
}

Detection detect_language(std::string_view text, bool is_html) {
  Detection detection;
  if (text.empty()) return detection;
  // Beyond a few hundred KB the answer does not change; bound the work on huge pages.
  const int length = static_cast<int>(std::min(text.size(), kMaxDetectBytes));
  CLD2::CLDHints hints{nullptr, nullptr, CLD2::UNKNOWN_ENCODING, CLD2::UNKNOWN_LANGUAGE};
  // Filled by CLD2 only when the text is valid UTF-8 (the CheckUTF8 variant returns early otherwise).
  CLD2::Language language3[3] = {CLD2::UNKNOWN_LANGUAGE, CLD2::UNKNOWN_LANGUAGE, CLD2::UNKNOWN_LANGUAGE};
  int percent3[3] = {0, 0, 0};
  double scores3[3] = {0, 0, 0};
  int text_bytes = 0, valid_prefix = 0;
  bool reliable = false;
  CLD2::Language best = CLD2::ExtDetectLanguageSummaryCheckUTF8(
      text.data(), length, !is_html, &hints, 0, language3, percent3, scores3, nullptr, &text_bytes, &reliable,
      &valid_prefix);
  detection.text_bytes = text_bytes;
  detection.reliable = reliable;
  detection.code = iso_code(CLD2::LanguageCode(best));
  for (int i = 0; i < 3; ++i) {
    if (language3[i] == CLD2::UNKNOWN_LANGUAGE || percent3[i] <= 0) continue;
    detection.top.push_back({iso_code(CLD2::LanguageCode(language3[i])), percent3[i]});
  }
  if (detection.code != "und" && !detection.top.empty()) {
    detection.confidence = detection.top.front().percent / 100.0;
    if (!reliable) detection.confidence *= 0.5;  // CLD2 says the runner-up is close
  }
  return detection;
}

}  // namespace vnawire::langid
