// Fuzz target: dates in article text (first line: the publication date, EDTF, or empty) and feed dates.
#include <optional>
#include <string>

#include "stages/extract/extract_dates.h"
#include "stages/fetch/fetch_feed.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = vnawire::fuzz::as_text(data, size);
  const auto [published, text] = vnawire::fuzz::split_first_line(input);
  std::optional<std::string> publication;
  if (!published.empty()) publication = std::string(published);
  (void)vnawire::extract::find_dates(text, publication);
  (void)vnawire::fetch::normalise_date(input);
  return 0;
}
