// Langid speed on the same sentences three ways, in one process: CLD2's plain DetectLanguage alone (the
// peer), vnawire's CLD2 call (detect_language) and the stage's whole decision (identify).
//
// Usage: vnawire_langid_peers FILE... [--per-file N] [--repeats R]
// Each FILE holds one text per line (e.g. ../shared/peers/langid-testdata/sentences/*.txt); the first N
// lines of each are used (all by default). Prints one line per method on stdout:
//   <method> <texts> <bytes> <cpu_seconds> <MB/s>
// with the best of R passes (default 5) on the process's CPU time, the steadier figure on a shared machine.
#include <cstdio>  // compact_lang_det.h uses FILE without including it

#include <cld2/public/compact_lang_det.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "stages/langid/langid_cld2.h"
#include "stages/langid/langid_identify.h"

namespace {

double cpu_seconds(const std::function<void()>& pass) {
  const std::clock_t start = std::clock();
  pass();
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::size_t per_file = static_cast<std::size_t>(-1);
  int repeats = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--per-file" && i + 1 < argc) {
      per_file = static_cast<std::size_t>(std::stoul(argv[++i]));
    } else if (arg == "--repeats" && i + 1 < argc) {
      repeats = std::max(1, std::stoi(argv[++i]));
    } else {
      files.push_back(arg);
    }
  }
  std::vector<std::string> texts;
  std::size_t bytes = 0;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) {
      std::cerr << "cannot read " << file << "\n";
      return 2;
    }
    std::string line;
    for (std::size_t n = 0; n < per_file && std::getline(in, line);) {
      if (line.empty()) continue;
      bytes += line.size();
      texts.push_back(std::move(line));
      ++n;
    }
  }
  if (texts.empty()) {
    std::cerr << "usage: " << argv[0] << " FILE... [--per-file N] [--repeats R]\n";
    return 2;
  }
  std::size_t sink = 0;  // keeps the calls from being optimised away
  const std::vector<std::pair<const char*, std::function<void()>>> methods = {
      {"cld2",
       [&] {
         for (const auto& text : texts) {
           bool reliable = false;
           sink += CLD2::DetectLanguage(text.data(), static_cast<int>(text.size()), true, &reliable);
         }
       }},
      {"detect_language",
       [&] {
         for (const auto& text : texts) sink += vnawire::langid::detect_language(text, false).code.size();
       }},
      {"identify",
       [&] {
         for (const auto& text : texts) sink += vnawire::langid::identify(text, false, {}).code.size();
       }},
  };
  // A pass of each first, untimed (the first calls page in CLD2's tables and warm the caches), then the
  // methods in turn within each repeat, so that a neighbour's load falls on all of them alike.
  for (const auto& method : methods) method.second();
  std::vector<double> best(methods.size(), 1e300);
  for (int r = 0; r < repeats; ++r) {
    for (std::size_t m = 0; m < methods.size(); ++m) best[m] = std::min(best[m], cpu_seconds(methods[m].second));
  }
  for (std::size_t m = 0; m < methods.size(); ++m) {
    std::printf("%s %zu %zu %.4f %.2f\n", methods[m].first, texts.size(), bytes, best[m],
                static_cast<double>(bytes) / 1e6 / best[m]);
  }
  return sink == 0 ? 1 : 0;
}
