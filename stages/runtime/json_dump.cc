// A faster compact JSON writer with nlohmann's exact output; the profile of the pipeline had nlohmann's
// string escaping as the largest item of the runtime's per-message path (each stage re-encodes the record).
#include "stages/runtime/json_dump.h"

#include <string_view>

#include "stages/runtime/byte_scan.h"
#include "stages/runtime/codec.h"

namespace vnawire::runtime {
namespace {

// nlohmann's short escapes; other bytes below 0x20 are written \u00XX with lower-case hex digits.
char short_escape(unsigned char c) {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    default:
      return 0;
  }
}

void append_string(const std::string& text, std::string& out) {
  if (!is_valid_utf8(text)) {  // rare: nlohmann's replacement rules decide where each U+FFFD goes
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  const char* run = text.data();
  const char* const end = text.data() + text.size();
  for (const char* p = find_json_special(run, end); p != end; p = find_json_special(p + 1, end)) {
    const auto c = static_cast<unsigned char>(*p);
    out.append(run, p);
    out += '\\';
    if (const char e = short_escape(c)) {
      out += e;
    } else {
      out += "u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
    run = p + 1;
  }
  out.append(run, end);
  out += '"';
}

}  // namespace

void append_json(const nlohmann::json& value, std::string& out) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.get_ref<const nlohmann::json::object_t&>()) {
        if (!first) out += ',';
        first = false;
        append_string(key, out);
        out += ':';
        append_json(member, out);
      }
      out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value.get_ref<const nlohmann::json::array_t&>()) {
        if (!first) out += ',';
        first = false;
        append_json(item, out);
      }
      out += ']';
      return;
    }
    case nlohmann::json::value_t::string:
      append_string(value.get_ref<const std::string&>(), out);
      return;
    default:  // numbers, booleans, null, binary: short, and nlohmann's number formatting is the reference
      out += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
  }
}

std::string dump_json(const nlohmann::json& value) {
  std::string out;
  out.reserve(256);
  append_json(value, out);
  return out;
}

}  // namespace vnawire::runtime
