// Text normalisation for duplicate detection: what two copies of one dispatch have in common.
#pragma once

#include <string>
#include <string_view>

namespace vnawire::dedupe {

// Markup removed (for HTML), case folded, accents removed, punctuation and white space dropped:
// two copies that differ only in layout, typography or entity encoding normalise to the same text.
std::string normalize_for_dedupe(std::string_view body, bool is_html);

// A 128-bit fingerprint (XXH3-128) of bytes, as 32 hex digits: of normalised text to find duplicates,
// and of a document id to key it in the store.
std::string fingerprint(std::string_view bytes);

}  // namespace vnawire::dedupe
