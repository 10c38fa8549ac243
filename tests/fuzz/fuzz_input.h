// What the fuzz targets share: the input as text, split into a first line and the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vnawire::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

struct SplitInput {
  std::string_view first;  // up to the first '\n' (the whole input when there is none)
  std::string_view rest;   // after it ("" when there is none)
};

// Targets that take two values read them from one input this way, so a seed stays a readable text file.
inline SplitInput split_first_line(std::string_view text) {
  const std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return {text, {}};
  return {text.substr(0, newline), text.substr(newline + 1)};
}

}  // namespace vnawire::fuzz
