// Dead-letter records: appended and flushed at once, since they are rare and must survive a crash.
#include "stages/runtime/dead_letter.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "stages/runtime/codec.h"

namespace vnawire::runtime {

DeadLetterWriter::~DeadLetterWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status DeadLetterWriter::open(const std::filesystem::path& path, std::string stage, int replica) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Status::error("cannot create " + path.parent_path().string() + ": " + ec.message());
  file_ = std::fopen(path.c_str(), "ae");
  if (file_ == nullptr) return Status::error("cannot open " + path.string() + ": " + std::strerror(errno));
  path_ = path;
  stage_ = std::move(stage);
  replica_ = replica;
  return {};
}

Status DeadLetterWriter::write(std::string_view reason, std::string_view id, std::string_view header,
                               std::string_view payload) {
  if (file_ == nullptr) return Status::error("dead-letter file is not open");
  nlohmann::json record;
  record["time"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  record["stage"] = stage_;
  record["replica"] = replica_;
  record["reason"] = std::string(reason);
  record["id"] = is_valid_utf8(id) ? std::string(id) : std::string();
  if (is_valid_utf8(header)) {
    record["header"] = std::string(header);
  } else {
    record["header_base64"] = base64_encode(header);
  }
  if (is_valid_utf8(payload)) {
    record["payload"] = std::string(payload);
  } else {
    record["payload_base64"] = base64_encode(payload);
  }
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return Status::error("cannot write " + path_.string() + ": " + std::strerror(errno));
  }
  return {};
}

std::string base64_encode(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                      static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace vnawire::runtime
