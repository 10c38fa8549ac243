// The limit for bench/run: a JSON Lines file of records (the pipeline's output) only read and parsed with
// the runtime's reader (stages/runtime/json_parse.h), no stage work, on one thread. What any pipeline that hands JSON
// records on cannot go below per document.
//
// Usage: vnawire_json_limit FILE.jsonl [repeats]
// Prints `<documents> <bytes> <cpu_seconds> <documents/s> <round_trip_us>` (best of `repeats` passes, default
// 5, CPU time): each pass reads the file from the page cache and parses every line; the last figure is one
// parse and one dump of a record in memory, the JSON part of what each stage of the pipeline does per hop.
//
// Usage: vnawire_json_limit --codec IN.jsonl OUT.jsonl [repeats]
// Prints `<codec_us>`: what one stage's JSON costs per document, parsing each record of its input (IN) and
// dumping each record of its output (OUT), in memory, best of `repeats` passes.
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

namespace {

std::vector<std::string> read_lines(const char* path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

double cpu_seconds_since(std::clock_t start) { return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC; }

int codec(const char* input, const char* output, int repeats) {
  const std::vector<std::string> in = read_lines(input), out_lines = read_lines(output);
  std::vector<nlohmann::json> out;
  for (const auto& line : out_lines) out.push_back(vnawire::runtime::parse_json(line));
  if (in.empty() || out.empty()) {
    std::cerr << "no records in " << (in.empty() ? input : output) << "\n";
    return 1;
  }
  double parse = 1e300, dump = 1e300;
  std::size_t seen = 0;
  for (int r = 0; r < repeats; ++r) {
    std::clock_t start = std::clock();
    for (const auto& line : in) seen += vnawire::runtime::parse_json(line).size();
    parse = std::min(parse, cpu_seconds_since(start) / static_cast<double>(in.size()));
    start = std::clock();
    for (const auto& record : out) seen += vnawire::runtime::dump_json(record).size();
    dump = std::min(dump, cpu_seconds_since(start) / static_cast<double>(out.size()));
  }
  std::printf("%.2f\n", (parse + dump) * 1e6);
  return seen == 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string(argv[1]) == "--codec")
    return codec(argv[2], argv[3], argc > 4 ? std::max(1, std::atoi(argv[4])) : 5);
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
