// Reading a record's JSON text, the one way every stage does it (codec payloads, JSON Lines filters).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace vnawire::runtime {

// Exactly what nlohmann::json::parse(text, nullptr, false) returns (a discarded value for what it refuses),
// faster on the long strings records carry: runs of text without escapes are validated and copied whole,
// where nlohmann's lexer takes one byte at a time. Whatever the fast reader is not sure of (an error, a
// byte-order mark, a number out of range, deep nesting) is handed to nlohmann, which then decides.
// `same_text`, when given, says whether the text is an exact writing of the value returned: read by the fast
// reader with no key repeated in any object (a repeated key's earlier values are not in the value), so that
// the text may stand for the value where it is stored or passed on as it is.
nlohmann::json parse_json(std::string_view text, bool* same_text = nullptr);

}  // namespace vnawire::runtime
