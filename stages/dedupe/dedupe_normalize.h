// Text normalisation for duplicate detection: what two copies of one dispatch have in common.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vnawire::dedupe {

// The text of an HTML page as a reader sees it (runtime::visible_text) with its entities decoded, so that a
// page and its plain-text copy compare alike.
std::string readable_text(std::string_view html);

// NFKD, combining marks removed, đ to d, case folded; punctuation and white space stay. ASCII, most of a
// French dispatch, takes a fast path; other characters are decomposed one by one.
std::string fold(std::string_view text);

// The words near-duplicate fingerprints are made of: boilerplate lines (photo captions and credits,
// picture markers, share buttons, a "Voir plus" block and what follows, datelines, "-VNA" signatures,
// repeated lines) dropped, then case and accents folded, punctuation dropped. Chinese and Japanese
// characters are words of their own. Numbers stay: a date is strong evidence of which event it is.
std::vector<std::string> near_duplicate_words(std::string_view body, bool is_html);
std::vector<std::string> words_of_text(std::string_view text);      // the same, of readable text
std::vector<std::string> words_of_folded(std::string_view folded);  // the same, of folded text

// Markup removed (for HTML), case folded, accents removed, punctuation and white space dropped:
// two copies that differ only in layout, typography or entity encoding normalise to the same text.
std::string normalize_for_dedupe(std::string_view body, bool is_html);

// Both of the above from one reading of the markup: what the stage computes per document.
struct DedupeText {
  std::string normalized;
  std::vector<std::string> words;  // empty unless asked for
};
DedupeText prepare_text(std::string_view body, bool is_html, bool with_words);

// A 128-bit fingerprint (XXH3-128) of bytes, as 32 hex digits: of normalised text to find duplicates,
// and of a document id to key it in the store.
std::string fingerprint(std::string_view bytes);

}  // namespace vnawire::dedupe
