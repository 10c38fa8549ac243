// Encodes documents to and decodes them from the two frames of a data message (docs/protocol.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stages/runtime/byte_scan.h"  // is_valid_utf8
#include "stages/runtime/document.h"
#include "stages/runtime/status.h"

namespace vnawire::runtime {

inline constexpr std::string_view kProtocolTag = "VNAW";
// Version 2 adds the acknowledgement token; a document that carries none is still written as version 1, so
// that consumers which do not acknowledge (exec programs written to version 1) read it unchanged.
inline constexpr int kProtocolVersion = 2;
// Hard bounds so that a hostile or broken peer cannot make a stage allocate without limit.
inline constexpr std::size_t kMaxHeaderBytes = 4096;
inline constexpr std::size_t kMaxIdBytes = 1024;

// A batch (docs/protocol.md): several documents in one message of two frames, "VNAB 1 <count>" and the
// documents one after the other, each as "<header bytes> <payload bytes>\n", its header frame, its payload.
// Between vnawire stage processes only; a program of the user's gets documents one message each.
inline constexpr std::string_view kBatchTag = "VNAB";
inline constexpr std::size_t kMaxBatchDocuments = 1024;

bool is_batch_header(std::string_view frame);
std::string encode_batch_header(std::size_t count);
void append_to_batch(std::string& body, std::string_view header, std::string_view payload);

struct BatchEntry {
  std::string_view header;
  std::string_view payload;
};
struct Batch {
  std::vector<BatchEntry> entries;  // the documents read, in order, viewing the frame
  std::string error;                // why the rest of the frame could not be read, "" when it all was
  std::string_view rest;            // that rest
};
// Reads a batch; a malformed entry ends it, with the reason and the unread bytes.
Batch decode_batch(std::string_view header_frame, std::string_view body);

struct Frames {
  std::string header;
  std::string payload;
};

// "VNAW 1 <attempt> <trace> <id>", or with an acknowledgement token "VNAW 2 <attempt> <trace> <ack> <id>":
// space separated, the id last so that it may hold spaces.
std::string encode_header(const Header& header);
Result<Header> decode_header(std::string_view frame);

// The payload is the record written whole, or, when `added` names members and the document kept the payload
// it came in (Document::received), that payload with those members of the record written in before its
// closing brace: the stage that names them changed nothing else (StageDescriptor::adds_members).
Frames encode(const Document& document, const std::vector<std::string>& added = {});

// Whether decode() keeps the payload in Document::received: never unless `payload`, and then only when the
// payload is exactly the record it holds (no repeated key, no fallback reading), on one line, with its "id",
// and with none of the members `absent` names (those a stage adds: the spliced payload must not repeat them).
struct KeepPayload {
  bool payload = false;
  const std::vector<std::string>* absent = nullptr;
};

// Fails with a reason on an unknown tag or version, a malformed header, a payload that is not a JSON
// object, or a payload whose "id" disagrees with the header.
Result<Document> decode(std::string_view header_frame, std::string_view payload_frame, const KeepPayload& keep = {});

// The record's JSON text on one line: the payload it came in when that was kept (Document::received), else
// the record written whole.
std::string record_text(const Document& document);

// `payload` (a JSON object's text, its members separated from the braces by at most JSON whitespace) with
// `record`'s members named by `names` written in before the closing brace; a name the record lacks is left out.
std::string splice_members(std::string_view payload, const nlohmann::json& record,
                           const std::vector<std::string>& names);

}  // namespace vnawire::runtime
