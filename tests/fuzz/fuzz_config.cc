// Fuzz target: a pipeline configuration file (YAML) loaded and checked against the real stage registry.
#include "stages/registry.h"
#include "stages/runtime/pipeline_config.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vnawire::runtime;
  const std::string text(vnawire::fuzz::as_text(data, size));
  const LoadedConfig loaded =
      parse_pipeline_config(text, "fuzz.yaml", "/nonexistent/vnawire-fuzz", vnawire::stages::find_stage);
  if (loaded.ok()) (void)loaded.config.topological_order();
  return 0;
}
