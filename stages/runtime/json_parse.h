// Reading a record's JSON text, the one way every stage does it (codec payloads, JSON Lines filters).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace vnawire::runtime {

// Exactly what nlohmann::json::parse(text, nullptr, false) returns (a discarded value for what it refuses),
// faster on the long strings records carry: runs of text without escapes are validated and copied whole,
// where nlohmann's lexer takes one byte at a time. Whatever the fast reader is not sure of (an error, a
// byte-order mark, a number out of range, deep nesting) is handed to nlohmann, which then decides.
nlohmann::json parse_json(std::string_view text);

}  // namespace vnawire::runtime
