// Turns a fetched body into UTF-8: declared charset (HTTP header, BOM, <meta>, XML declaration) or detected.
#pragma once

#include <string>
#include <string_view>

#include "stages/runtime/status.h"

namespace vnawire::fetch {

struct DecodedText {
  std::string utf8;     // the body in UTF-8, without a byte order mark
  std::string charset;  // the charset used, as ICU names it ("UTF-8", "windows-1252", …)
  std::string source;   // where it came from: "header", "bom", "meta", "xml", "detected", or "utf-8" (undeclared)
};

// The charset parameter of a Content-Type header value ("" when absent), unquoted and lower-cased.
std::string charset_of_content_type(std::string_view content_type);

// Order: BOM, then the header's charset, then a <meta charset> / <meta http-equiv content-type> or an XML
// declaration in the first 4 KiB. A declaration that cannot be right (declared UTF-8 on invalid UTF-8, or a
// single-byte charset declared on a body that is valid multi-byte UTF-8) is overridden. Undeclared bodies are
// taken as UTF-8 when valid, otherwise detected (ICU charset detection), never mangled. Errors only when the
// charset is unknown to ICU and nothing else works.
runtime::Result<DecodedText> decode_to_utf8(std::string_view body, std::string_view content_type);

}  // namespace vnawire::fetch
