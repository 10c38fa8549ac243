// The fetch stage's descriptor (registered in stages/registry.cc).
#pragma once

#include <string>
#include <string_view>

#include "stages/runtime/stage.h"

namespace vnawire::fetch {

const runtime::StageDescriptor& fetch_descriptor();

// The document id of a fetched file or URL: "f-" and 16 hex digits of XXH3 of its canonical location
// (canonical_url() for web pages, file://PATH for files).
std::string document_id_for(const std::string& location);
// 16 hex digits of XXH3-64: ids and content hashes.
std::string xxh3_hex(std::string_view text);

}  // namespace vnawire::fetch
