// The fetch stage's descriptor (registered in stages/registry.cc).
#pragma once

#include "stages/runtime/stage.h"

namespace vnawire::fetch {

const runtime::StageDescriptor& fetch_descriptor();

// The document id of a fetched file or URL: "f-" and 16 hex digits of XXH3 of its canonical location
// (canonical_url() for web pages, file://PATH for files).
std::string document_id_for(const std::string& location);

}  // namespace vnawire::fetch
