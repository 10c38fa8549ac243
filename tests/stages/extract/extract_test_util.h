// Helpers shared by the extraction tests: fixture paths, file reading, articles built from paragraphs.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entities.h"

namespace vnawire::extract::extract_testing {

// tests/data/extract: under the build's VNAWIRE_TEST_DATA, else found from this file's own path.
inline std::filesystem::path fixture_dir() {
#ifdef VNAWIRE_TEST_DATA
  return std::filesystem::path(VNAWIRE_TEST_DATA) / "extract";
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

// An article of these paragraphs, with a title when one is given.
inline Article article_of(std::vector<std::string> body, std::optional<std::string> title = std::nullopt) {
  Article a;
  a.title = std::move(title);
  a.body = std::move(body);
  return a;
}

// Whether `list` holds `value`.
inline bool has(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// A person named `name`, with these aliases and roles.
inline Person person(std::string name, std::vector<std::string> aliases = {}, std::vector<std::string> roles = {}) {
  Person p;
  p.name = std::move(name);
  p.aliases = std::move(aliases);
  p.roles = std::move(roles);
  return p;
}

}  // namespace vnawire::extract::extract_testing
