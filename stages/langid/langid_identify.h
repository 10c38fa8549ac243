// The langid decision: CLD2, the text's script and the fetcher's hints combined by the rules in docs/langid.md.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "stages/langid/langid_cld2.h"
#include "stages/langid/langid_hints.h"

namespace vnawire::langid {

// Texts with at least this many bytes of letters (as CLD2 counts them) are "long": a reliable CLD2 answer on
// them is final and no hint overrides it.
inline constexpr int kLongTextBytes = 200;

// Texts of at least kSampleFromBytes are first identified on three windows of kSampleWindowBytes (start,
// middle, end); the sample's answer stands when CLD2 is reliable on it and gives its language at least
// kSampleAgreement percent of it (`Detection::sampled`), otherwise the whole text is identified.
inline constexpr std::size_t kSampleWindowBytes = 512;
inline constexpr std::size_t kSampleFromBytes = 6 * kSampleWindowBytes;
inline constexpr int kSampleAgreement = 90;

// Identifies `text` (an HTML page when `is_html`) given `hints`, most trusted first. `from` in the result
// says what decided: "cld2", "hint:<source>", "script", "ngram", or "none" for und.
// `sample_long_texts` (the stage's option `sample_long_texts`, on by default): see kSampleFromBytes.
Detection identify(std::string_view text, bool is_html, const std::vector<LanguageHint>& hints,
                   bool sample_long_texts = true);

}  // namespace vnawire::langid
