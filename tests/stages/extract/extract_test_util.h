// Helpers shared by the extraction tests: fixture paths and file reading.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vnawire::extract::testing {

// tests/data/extract, found from this file's own path unless the build names it.
inline std::filesystem::path fixture_dir() {
#ifdef VNAWIRE_EXTRACT_TEST_DATA
  return std::filesystem::path(VNAWIRE_EXTRACT_TEST_DATA);
#else
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "data" / "extract";
#endif
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string read_fixture(const std::string& name) { return read_file(fixture_dir() / name); }

}  // namespace vnawire::extract::testing
