// The limit for bench/run: a JSON Lines file of records (the pipeline's output) only read and parsed with
// the runtime's reader (stages/runtime/json_parse.h), no stage work, on one thread. What any pipeline that hands JSON
// records on cannot go below per document.
//
// Usage: vnawire_json_limit FILE.jsonl [repeats]
// Prints `<documents> <bytes> <cpu_seconds> <documents/s> <round_trip_us>` (best of `repeats` passes, default
// 5, CPU time): each pass reads the file from the page cache and parses every line; the last figure is one
// parse and one dump of a record in memory, the JSON part of what each stage of the pipeline does per hop.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stages/runtime/json_dump.h"
#include "stages/runtime/json_parse.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " FILE.jsonl [repeats]\n";
    return 2;
  }
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  double best = 1e300, best_round_trip = 1e300;
  std::size_t documents = 0, bytes = 0;
  std::vector<std::string> lines;
  for (int r = 0; r < repeats; ++r) {
    documents = bytes = 0;
    const std::clock_t start = std::clock();
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
      std::cerr << "cannot read " << argv[1] << "\n";
      return 2;
    }
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json record = vnawire::runtime::parse_json(line);
      if (!record.is_object()) continue;
      bytes += line.size();
      ++documents;
      if (r == 0) lines.push_back(line);
    }
    best = std::min(best, static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC);
  }
  std::size_t dumped = 0;
  for (int r = 0; r < repeats; ++r) {
    const std::clock_t start = std::clock();
    for (const auto& text : lines) dumped += vnawire::runtime::dump_json(vnawire::runtime::parse_json(text)).size();
    best_round_trip = std::min(best_round_trip, static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC);
  }
  if (documents == 0) {
    std::cerr << "no records in " << argv[1] << "\n";
    return 1;
  }
  std::printf("%zu %zu %.4f %.1f %.2f\n", documents, bytes, best, static_cast<double>(documents) / best,
              best_round_trip * 1e6 / static_cast<double>(lines.size()));
  return dumped == 0 ? 1 : 0;
}
