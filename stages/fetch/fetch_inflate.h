// Bounded inflation of whole compressed bodies: sitemaps served as .xml.gz, and WARC payloads stored with their
// HTTP Content-Encoding (the streaming reader of .warc.gz files has its own inflater, in fetch_warc.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "stages/runtime/status.h"

namespace vnawire::fetch {

// Inflates gzip data (several members allowed) or zlib data up to `max_bytes`; an error beyond that or on
// corrupt or truncated data.
runtime::Result<std::string> gunzip(std::string_view data, std::size_t max_bytes);

// HTTP "deflate" up to `max_bytes`: zlib as RFC 9110 says, or raw deflate as some servers send it.
runtime::Result<std::string> inflate_deflate(std::string_view data, std::size_t max_bytes);

}  // namespace vnawire::fetch
