// The dead-letter file: every document a stage could not handle, with the reason, one JSON line each.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "stages/runtime/status.h"

namespace vnawire::runtime {

class DeadLetterWriter {
 public:
  DeadLetterWriter() = default;
  ~DeadLetterWriter();
  DeadLetterWriter(const DeadLetterWriter&) = delete;
  DeadLetterWriter& operator=(const DeadLetterWriter&) = delete;

  // Opens (creating folders) `path` for appending.
  Status open(const std::filesystem::path& path, std::string stage, int replica);
  // Writes one record; header and payload are kept as text when valid UTF-8, else base64.
  Status write(std::string_view reason, std::string_view id, std::string_view header, std::string_view payload);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::FILE* file_ = nullptr;
  std::filesystem::path path_;
  std::string stage_;
  int replica_ = 0;
};

std::string base64_encode(std::string_view bytes);

}  // namespace vnawire::runtime
