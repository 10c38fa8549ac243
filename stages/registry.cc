// The registry of stage types, in pipeline order.
#include "stages/registry.h"

#include "stages/dedupe/dedupe_stage.h"
#include "stages/extract/extract_stage.h"
#include "stages/fetch/fetch_stage.h"
#include "stages/langid/langid_stage.h"
#include "stages/sink/sink_stages.h"

namespace vnawire::stages {

const std::vector<const runtime::StageDescriptor*>& all_stages() {
  static const std::vector<const runtime::StageDescriptor*> stages = {
      &fetch::fetch_descriptor(),     &dedupe::dedupe_descriptor(), &langid::langid_descriptor(),
      &extract::extract_descriptor(), &sink::jsonl_descriptor(),    &sink::sqlite_descriptor(),
      &sink::postgres_descriptor(),   &sink::webhook_descriptor(),  &sink::exec_descriptor(),
  };
  return stages;
}

const runtime::StageDescriptor* find_stage(const std::string& type) {
  for (const auto* descriptor : all_stages()) {
    if (descriptor->type == type) return descriptor;
  }
  return nullptr;
}

}  // namespace vnawire::stages
