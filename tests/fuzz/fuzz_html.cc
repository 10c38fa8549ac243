// Fuzz target: an HTML page (after a first line giving its URL) read into the extract stage's record fields,
// with the site profiles the stage loads by default.
#include <nlohmann/json.hpp>
#include <vector>

#include "stages/extract/extract_profiles.h"
#include "stages/extract/extract_record.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vnawire::extract;
  static const SiteProfiles profiles = [] {
    std::vector<ProfileError> errors;
    return SiteProfiles::load_dir(VNAWIRE_SITES_DIR, errors);
  }();
  const auto [url, html] = vnawire::fuzz::split_first_line(vnawire::fuzz::as_text(data, size));
  nlohmann::json record;
  add_article_fields(extract_html_page(html, url, &profiles), record);
  // Every string the readers produce must be valid UTF-8, whatever the input: a strict dump throws otherwise.
  (void)record.dump();
  return 0;
}
