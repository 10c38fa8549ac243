// The extract stage's descriptor (registered in stages/registry.cc).
#pragma once

#include "stages/runtime/stage.h"

namespace vnawire::extract {

const runtime::StageDescriptor& extract_descriptor();

}  // namespace vnawire::extract
