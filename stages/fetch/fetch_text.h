// The fetcher's ASCII text helpers, which live in the runtime (stages/runtime/ascii_text.h) so that sinks
// use the same ones.
#pragma once

#include "stages/runtime/ascii_text.h"

namespace vnawire::fetch {

using runtime::ascii_lower;
using runtime::ascii_lowered;
using runtime::iequals;
using runtime::is_space;
using runtime::istarts_with;
using runtime::kAsciiSpace;
using runtime::kHtmlSpace;
using runtime::trim;

}  // namespace vnawire::fetch
