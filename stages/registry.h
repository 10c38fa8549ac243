// The list of stage types: adding a stage is one folder plus one line in registry.cc.
#pragma once

#include <string>
#include <vector>

#include "stages/runtime/stage.h"

namespace vnawire::stages {

const std::vector<const runtime::StageDescriptor*>& all_stages();
const runtime::StageDescriptor* find_stage(const std::string& type);

}  // namespace vnawire::stages
