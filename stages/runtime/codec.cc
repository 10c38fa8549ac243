// Data message codec: the one place where frames become documents.
#include "stages/runtime/codec.h"

#include <charconv>
#include <cstring>
#include <optional>

#include "stages/runtime/ack.h"
#include "stages/runtime/json_dump.h"
#include "stages/runtime/json_parse.h"

namespace vnawire::runtime {
namespace {

bool valid_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string encode_header(const Header& header) {
  std::string out;
  out.reserve(16 + header.trace.size() + header.ack.size() + header.id.size());
  out.append(kProtocolTag);
  out.append(header.ack.empty() ? " 1 " : " 2 ");
  out.append(std::to_string(header.attempt));
  out.append(" ");
  out.append(header.trace.empty() ? std::string("-") : header.trace);
  out.append(" ");
  if (!header.ack.empty()) {
    out.append(header.ack);
    out.append(" ");
  }
  out.append(header.id);
  return out;
}

Result<Header> decode_header(std::string_view frame) {
  if (frame.size() > kMaxHeaderBytes) return Status::error("header frame larger than 4096 bytes");
  std::string_view fields[5];
  std::string_view rest = frame;
  auto next_field = [&rest](std::string_view& field) {
    auto space = rest.find(' ');
    if (space == std::string_view::npos) return false;
    field = rest.substr(0, space);
    rest.remove_prefix(space + 1);
    return true;
  };
  for (int i = 0; i < 4; ++i) {
    if (!next_field(fields[i])) return Status::error("header frame has fewer than 5 fields");
  }
  if (fields[0] != kProtocolTag) return Status::error("header frame does not start with the VNAW tag");
  int version = 0;
  auto [vend, verr] = std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), version);
  if (verr != std::errc() || vend != fields[1].data() + fields[1].size()) {
    return Status::error("header version is not a number");
  }
  if (version != 1 && version != kProtocolVersion) {
    return Status::error("unsupported protocol version " + std::to_string(version) + " (this build speaks 1 and " +
                         std::to_string(kProtocolVersion) + ")");
  }
  Header header;
  auto [aend, aerr] = std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), header.attempt);
  if (aerr != std::errc() || aend != fields[2].data() + fields[2].size()) {
    return Status::error("header attempt is not an unsigned number");
  }
  if (!valid_token(fields[3])) return Status::error("header trace is empty or holds control characters");
  if (fields[3] != "-") header.trace = std::string(fields[3]);
  if (version == 2) {
    if (!next_field(fields[4])) return Status::error("header frame has fewer than 6 fields (version 2)");
    if (!parse_ack(fields[4])) return Status::error("header ack is not <origin>/<root>/<edge>");
    header.ack = std::string(fields[4]);
  }
  if (rest.empty()) return Status::error("header id is empty");
  if (rest.size() > kMaxIdBytes) return Status::error("header id longer than 1024 bytes");
  if (!is_valid_utf8(rest)) return Status::error("header id is not valid UTF-8");
  for (char c : rest) {
    if (static_cast<unsigned char>(c) < 0x20) return Status::error("header id holds control characters");
  }
  header.id = std::string(rest);
  return header;
}

Frames encode(const Document& document, const std::vector<std::string>& added) {
  if (!added.empty() && !document.received.empty()) {
    return Frames{encode_header(document.header), splice_members(document.received, document.record, added)};
  }
  return Frames{encode_header(document.header), dump_json(document.record)};
}

std::string record_text(const Document& document) {
  return document.received.empty() ? dump_json(document.record) : document.received;
}

std::string splice_members(std::string_view payload, const nlohmann::json& record,
                           const std::vector<std::string>& names) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t close = payload.size();
  while (close > 0 && space(payload[close - 1])) --close;
  if (close == 0 || payload[close - 1] != '}') return dump_json(record);  // not an object's text after all
  --close;
  std::size_t last = close;  // the last byte before the closing brace that is not white space
  while (last > 0 && space(payload[last - 1])) --last;
  bool empty = last > 0 && payload[last - 1] == '{';
  std::string out;
  out.reserve(payload.size() + 256);
  out.append(payload.substr(0, last));
  for (const std::string& name : names) {
    const auto member = record.find(name);
    if (member == record.end()) continue;
    if (!empty) out += ',';
    empty = false;
    append_json(nlohmann::json(name), out);
    out += ':';
    append_json(*member, out);
  }
  out += '}';
  return out;
}

bool is_batch_header(std::string_view frame) {
  return frame.size() > kBatchTag.size() && frame.substr(0, kBatchTag.size()) == kBatchTag &&
         frame[kBatchTag.size()] == ' ';
}

std::string encode_batch_header(std::size_t count) { return std::string(kBatchTag) + " 1 " + std::to_string(count); }

void append_to_batch(std::string& body, std::string_view header, std::string_view payload) {
  body += std::to_string(header.size());
  body += ' ';
  body += std::to_string(payload.size());
  body += '\n';
  body += header;
  body += payload;
}

namespace {

// A decimal count without sign or leading zeros, at most `limit`.
std::optional<std::size_t> read_count(std::string_view text, std::size_t limit) {
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  if (value > limit) return std::nullopt;
  return value;
}

}  // namespace

Batch decode_batch(std::string_view header_frame, std::string_view body) {
  Batch batch;
  constexpr std::string_view kPrefix = "VNAB 1 ";
  const auto count = header_frame.starts_with(kPrefix)
                         ? read_count(header_frame.substr(kPrefix.size()), kMaxBatchDocuments)
                         : std::nullopt;
  if (!count || *count == 0) {
    batch.error =
        "malformed batch header (expected \"VNAB 1 <count>\", count 1 to " + std::to_string(kMaxBatchDocuments) + ")";
    batch.rest = body;
    return batch;
  }
  std::string_view rest = body;
  while (batch.entries.size() < *count) {
    const std::size_t space = rest.find(' '), newline = rest.find('\n');
    std::optional<std::size_t> header_bytes, payload_bytes;
    if (space != std::string_view::npos && newline != std::string_view::npos && space < newline) {
      header_bytes = read_count(rest.substr(0, space), kMaxHeaderBytes);
      payload_bytes = read_count(rest.substr(space + 1, newline - space - 1), rest.size());
    }
    if (!header_bytes || !payload_bytes || rest.size() - newline - 1 < *header_bytes + *payload_bytes) {
      batch.error = "malformed batch: document " + std::to_string(batch.entries.size() + 1) + " of " +
                    std::to_string(*count) + " has no valid \"<header bytes> <payload bytes>\" line";
      batch.rest = rest;
      return batch;
    }
    rest.remove_prefix(newline + 1);
    batch.entries.push_back({rest.substr(0, *header_bytes), rest.substr(*header_bytes, *payload_bytes)});
    rest.remove_prefix(*header_bytes + *payload_bytes);
  }
  if (!rest.empty()) {
    batch.error =
        "malformed batch: " + std::to_string(rest.size()) + " bytes after its " + std::to_string(*count) + " documents";
    batch.rest = rest;
  }
  return batch;
}

Result<Document> decode(std::string_view header_frame, std::string_view payload_frame, const KeepPayload& keep) {
  auto header = decode_header(header_frame);
  if (!header) return Status::error(header.error());
  Document document{std::move(header.value()), nlohmann::json(), {}};
  bool same_text = false;
  document.record = parse_json(payload_frame, keep.payload ? &same_text : nullptr);
  if (document.record.is_discarded()) return Status::error("payload is not valid JSON");
  if (!document.record.is_object()) return Status::error("payload is not a JSON object");
  auto id = document.record.find("id");
  if (id == document.record.end()) {
    document.record["id"] = document.header.id;
    same_text = false;  // the record has a member its text has not
  } else if (!id->is_string() || id->get_ref<const std::string&>() != document.header.id) {
    return Status::error("payload id does not match the header id");
  }
  if (same_text && keep.absent != nullptr) {
    for (const std::string& name : *keep.absent) same_text = same_text && !document.record.contains(name);
  }
  // On one line: sinks write it where a line is a record (JSON Lines, the PostgreSQL sink's spool). A line
  // break in JSON text is white space between tokens, never inside a string.
  if (same_text && find_byte_of(payload_frame.data(), payload_frame.data() + payload_frame.size(), '\n', '\r', '\r') ==
                       payload_frame.data() + payload_frame.size()) {
    document.received.assign(payload_frame);
  }
  return document;
}

}  // namespace vnawire::runtime
