// Small helpers every stage uses on records: reading the body, and timestamps.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vnawire::runtime {

// The record's "body" when it is a string, else nullptr (the stage then dead-letters the document).
inline const std::string* body_of(const nlohmann::json& record) {
  auto it = record.find("body");
  return it != record.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

inline constexpr const char* kNoBody = "the record has no string \"body\"";

// The current time in UTC as ISO 8601 with seconds: 2026-11-23T18:20:00Z.
std::string iso_now_utc();

}  // namespace vnawire::runtime
