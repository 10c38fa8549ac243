// The dedupe stage's descriptor (registered in stages/registry.cc).
#pragma once

#include "stages/runtime/stage.h"

namespace vnawire::dedupe {

const runtime::StageDescriptor& dedupe_descriptor();

}  // namespace vnawire::dedupe
