// Fuzz target: a scraped text dispatch read into the extract stage's record fields.
#include <nlohmann/json.hpp>

#include "stages/extract/extract_record.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vnawire::extract;
  nlohmann::json record;
  add_article_fields(extract_text_dispatch(vnawire::fuzz::as_text(data, size)), record);
  // Every string the readers produce must be valid UTF-8, whatever the input: a strict dump throws otherwise.
  (void)record.dump();
  return 0;
}
