// The document every stage passes on: the wire header plus the JSON record (docs/protocol.md).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace vnawire::runtime {

struct Header {
  std::string id;          // stable document id, the same in every stage and across replays
  std::uint32_t attempt = 0;  // how many times the source has sent this id before
  std::string trace;       // opaque trace id, carried unchanged end to end
  std::string ack;         // the acknowledgement token (ack.h), "" when the document is not tracked
};

struct Document {
  Header header;
  nlohmann::json record;  // the JSON record: input fields plus what each stage adds
  // The payload `record` was read from, in a sink or a stage that adds members (`adds_members`), when the
  // text is exactly the record as it came (codec.h, decode()); otherwise empty.
  std::string received;
};

}  // namespace vnawire::runtime
