// CURVE keys for the tests that run pipelines across hosts, made by the real `vnawire keygen`.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace vnawire::testing {

// <dir>/keys/server.* and one pair per host in `hosts` (<dir>/keys/<host>.*), with every host's public key
// authorized in <dir>/authorized; `strangers` get pairs that are not authorized. False if keygen failed.
inline bool make_curve_keys(const TempDir& dir, const std::vector<std::string>& hosts,
                            const std::vector<std::string>& strangers = {}) {
  std::filesystem::create_directories(dir / "authorized");
  std::vector<std::string> names = {"server"};
  names.insert(names.end(), hosts.begin(), hosts.end());
  names.insert(names.end(), strangers.begin(), strangers.end());
  for (const auto& name : names) {
    Process keygen({VNAWIRE_BINARY, "keygen", "--out", (dir / "keys").string(), "--name", name}, dir.path());
    if (keygen.wait(std::chrono::seconds(10)) != 0) return false;
  }
  for (const auto& host : hosts) {
    std::filesystem::copy_file(dir / "keys" / (host + ".public"), dir / "authorized" / (host + ".public"));
  }
  return true;
}

// The `pipeline:` lines that turn CURVE on, with `host`'s own secret key.
inline std::string curve_pipeline_lines(const TempDir& dir, const std::string& host) {
  const std::string keys = (dir / "keys").string();
  return "  curve_server_secret_key: " + keys + "/server.secret\n  curve_server_public_key: " + keys +
         "/server.public\n  curve_secret_key: " + keys + "/" + host +
         ".secret\n  curve_authorized_keys: " + (dir / "authorized").string() + "\n";
}

// The public key in a key file (its line that is not a comment).
inline std::string public_key_of(const std::filesystem::path& file) {
  for (const auto& line : read_lines(file)) {
    if (!line.empty() && line[0] != '#') return line;
  }
  return "";
}

// Distinct documents in a JSON Lines sink so far; the line the sink is writing may be cut short, so unreadable
// lines are skipped (stored_urls, for the end of a test, throws on them).
inline std::size_t stored_so_far(const std::filesystem::path& sink) {
  std::set<std::string> urls;
  for (const auto& line : read_lines(sink)) {
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.contains("url")) urls.insert(record["url"].dump());
  }
  return urls.size();
}

}  // namespace vnawire::testing
