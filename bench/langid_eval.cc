// Langid accuracy runner for docs/langid.md: one text per input line, one language code per output line.
// `vnawire_langid_eval cld2|identify [HINT_FROM HINT_CODE] < lines` (HINT_FROM e.g. url, source).
#include <iostream>
#include <string>
#include <vector>

#include "stages/langid/langid_identify.h"

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "identify";
  std::vector<vnawire::langid::LanguageHint> hints;
  if (argc > 3) hints.push_back({argv[3], argv[2]});
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto detection = mode != "identify" ? vnawire::langid::detect_language(line, false)
                                          : vnawire::langid::identify(line, false, hints);
    std::cout << detection.code;
    if (mode == "top") {
      for (const auto& share : detection.top) std::cout << ' ' << share.code << ':' << share.percent;
      std::cout << ' ' << detection.reliable << ' ' << detection.text_bytes;
    }
    std::cout << '\n';
  }
  return 0;
}
