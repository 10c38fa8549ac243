// The record as compact JSON, the one way every stage writes it (codec payloads, sink rows and lines).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vnawire::runtime {

// Byte for byte what value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) writes (compact,
// non-ASCII kept, invalid UTF-8 replaced by U+FFFD), a few times faster on the long strings records carry:
// runs of text that need no escape are copied whole, where nlohmann's serializer decodes every byte.
std::string dump_json(const nlohmann::json& value);
void append_json(const nlohmann::json& value, std::string& out);

}  // namespace vnawire::runtime
