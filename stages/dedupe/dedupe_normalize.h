// Text normalisation for duplicate detection: what two copies of one dispatch have in common.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vnawire::dedupe {

// Drops tags, comments, scripts and styles; the text between stays, block tags ending a line. A scanner,
// not a parser: enough to compare two renderings of the same page, and it never fails on broken markup.
std::string strip_markup(std::string_view html);

// The words near-duplicate fingerprints are made of: boilerplate lines (photo captions and credits,
// picture markers, share buttons, a "Voir plus" block and what follows, datelines, "-VNA" signatures,
// repeated lines) dropped, then case and accents folded, punctuation dropped. Chinese and Japanese
// characters are words of their own. Numbers stay: a date is strong evidence of which event it is.
std::vector<std::string> near_duplicate_words(std::string_view body, bool is_html);

// Markup removed (for HTML), case folded, accents removed, punctuation and white space dropped:
// two copies that differ only in layout, typography or entity encoding normalise to the same text.
std::string normalize_for_dedupe(std::string_view body, bool is_html);

// A 128-bit fingerprint (XXH3-128) of bytes, as 32 hex digits: of normalised text to find duplicates,
// and of a document id to key it in the store.
std::string fingerprint(std::string_view bytes);

}  // namespace vnawire::dedupe
