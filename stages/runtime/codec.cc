// Data message codec: the one place where frames become documents.
#include "stages/runtime/codec.h"

#include <algorithm>
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

namespace {

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Past the string whose opening quote is at `p` (text known to be valid JSON): the long ones, a page's body,
// sixteen bytes at a time.
const char* skip_string(const char* p, const char* end) {
  for (++p; p < end; p += 2) {
    p = find_byte_of(p, end, '"', '\\', '\\');
    if (p == end || *p == '"') return p == end ? end : p + 1;
  }
  return end;
}

// Past the value that starts at `p`.
const char* skip_value(const char* p, const char* end) {
  if (p == end) return end;
  if (*p == '"') return skip_string(p, end);
  int depth = 0;
  while (p < end) {
    const char c = *p;
    if (c == '"') {
      p = skip_string(p, end);
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (depth == 0) return p;
      if (--depth == 0) return p + 1;
    }
    if (c == ',' && depth == 0) return p;
    ++p;
  }
  return end;
}

struct Member {
  std::size_t begin;     // where the member's key starts
  std::string_view key;  // as written, without its quotes
};

// The top-level members of an object's text, in order; nullopt when the text is not one as expected.
std::optional<std::vector<Member>> members_of(std::string_view text, std::size_t close) {
  std::vector<Member> members;
  const char* const base = text.data();
  const char* const end = base + close;
  const char* p = base;
  while (p < end && json_space(*p)) ++p;
  if (p == end || *p != '{') return std::nullopt;
  ++p;
  while (true) {
    while (p < end && json_space(*p)) ++p;
    if (p == end) return members;
    if (*p == ',') {
      ++p;
      continue;
    }
    if (*p != '"') return std::nullopt;
    const char* key_end = skip_string(p, end);
    if (key_end == end) return std::nullopt;
    members.push_back(
        {static_cast<std::size_t>(p - base), std::string_view(p + 1, static_cast<std::size_t>(key_end - p - 2))});
    p = key_end;
    while (p < end && json_space(*p)) ++p;
    if (p == end || *p != ':') return std::nullopt;
    ++p;
    while (p < end && json_space(*p)) ++p;
    p = skip_value(p, end);
  }
}

}  // namespace

std::string splice_members(std::string_view payload, const nlohmann::json& record,
                           const std::vector<std::string>& names) {
  std::size_t close = payload.size();
  while (close > 0 && json_space(payload[close - 1])) --close;
  if (close == 0 || payload[close - 1] != '}') return dump_json(record);  // not an object's text after all
  --close;
  const auto members = members_of(payload, close);
  if (!members) return dump_json(record);
  // Each added member goes before the first member whose key sorts after it (the record's own order, so that
  // a payload written whole by a stage comes out as this record written whole), or last. A key written with
  // an escape cannot be compared as written: then they go last.
  bool sortable = true;
  for (const Member& member : *members) sortable = sortable && member.key.find('\\') == std::string_view::npos;
  std::vector<std::pair<std::size_t, const std::string*>> inserts;  // (offset, name), offsets ascending
  for (const std::string& name : names) {
    if (!record.contains(name)) continue;
    std::size_t at = close;
    if (sortable) {
      for (const Member& member : *members) {
        if (member.key > name) {
          at = member.begin;
          break;
        }
      }
    }
    inserts.emplace_back(at, &name);
  }
  std::stable_sort(inserts.begin(), inserts.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  std::string out;
  out.reserve(payload.size() + 256);
  std::size_t from = 0;
  for (const auto& [at, name] : inserts) {
    std::size_t upto = at;
    if (at == close) {  // after the last member: the white space before the brace stays after the new ones
      while (upto > from && json_space(payload[upto - 1])) --upto;
    }
    out.append(payload.substr(from, upto - from));
    from = at == close ? close : upto;
    if (at == close && out.back() != '{') out += ',';
    append_json(nlohmann::json(*name), out);
    out += ':';
    append_json(record.at(*name), out);
    if (at != close) out += ',';
  }
  out.append(payload.substr(from, close - from));
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
