// The langid stage's descriptor (registered in stages/registry.cc).
#pragma once

#include "stages/runtime/stage.h"

namespace vnawire::langid {

const runtime::StageDescriptor& langid_descriptor();

}  // namespace vnawire::langid
