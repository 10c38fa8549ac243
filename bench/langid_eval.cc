// Langid accuracy runner for docs/langid.md: one text per input line, one language code per output line.
// `vnawire_langid_eval cld2|identify|top [HINT_FROM HINT_CODE] < lines` (HINT_FROM e.g. url, source); with
// VNAWIRE_EVAL_FILES=1 each line is a file's path instead, read whole (HTML when it ends in .html).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "stages/langid/langid_identify.h"

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "identify";
  std::vector<vnawire::langid::LanguageHint> hints;
  if (argc > 3) hints.push_back({argv[3], argv[2]});
  std::string line;
  const bool files = std::getenv("VNAWIRE_EVAL_FILES") != nullptr;
  while (std::getline(std::cin, line)) {
    bool html = false;
    if (files) {
      html = line.size() > 5 && line.substr(line.size() - 5) == ".html";
      std::ifstream in(line, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      line = text.str();
    }
    const auto detection = mode != "identify" ? vnawire::langid::detect_language(line, html)
                                              : vnawire::langid::identify(line, html, hints);
    std::cout << detection.code;
    if (mode == "top") {
      for (const auto& share : detection.top) std::cout << ' ' << share.code << ':' << share.percent;
      std::cout << ' ' << detection.reliable << ' ' << detection.text_bytes;
    }
    std::cout << '\n';
  }
  return 0;
}
