// Runs the generic extractor on the article-extraction benchmark's pages: prediction JSON and pages/s.
//
// Usage: vnawire_extract_benchmark BENCH_DIR OUT.json [repeats]
// Reads BENCH_DIR/html/*.html.gz, writes {id: {"articleBody": text}} for BENCH_DIR/score.py, and
// prints the pages per second of extraction alone (decompression and file reads are outside the
// clock) on one thread, in wall and CPU time, and libxml2's parse alone as the floor.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "stages/extract/extract_dom.h"
#include "stages/extract/extract_generic.h"

namespace {

// The whole of a gzip file, or nullopt-like empty string with ok=false when it cannot be read.
bool read_gzip(const std::filesystem::path& path, std::string& out) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  const bool ok = n == 0;
  gzclose(f);
  return ok;
}

std::string join_blocks(const std::vector<std::string>& blocks) {
  std::string text;
  for (const std::string& b : blocks) {
    if (!text.empty()) text += '\n';
    text += b;
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " BENCH_DIR OUT.json [repeats]\n";
    return 2;
  }
  const std::filesystem::path dir = std::filesystem::path(argv[1]) / "html";
  const int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
  std::vector<std::pair<std::string, std::string>> pages;  // id, html
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string suffix = ".html.gz";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string html;
    if (!read_gzip(entry.path(), html)) {
      std::cerr << "cannot read " << entry.path() << "\n";
      return 1;
    }
    pages.emplace_back(name.substr(0, name.size() - suffix.size()), std::move(html));
  }
  if (ec || pages.empty()) {
    std::cerr << "no pages in " << dir << "\n";
    return 1;
  }
  std::sort(pages.begin(), pages.end());

  nlohmann::json out = nlohmann::json::object();
  // Wall time, and CPU time of the process: on a shared machine the second is the steadier figure.
  double best_seconds = 1e300, best_cpu_seconds = 1e300;
  std::size_t bytes = 0;
  for (int r = 0; r < repeats; ++r) {
    const std::clock_t cpu_start = std::clock();
    const auto start = std::chrono::steady_clock::now();
    for (const auto& [id, html] : pages) {
      const std::vector<std::string> blocks = vnawire::extract::extract_generic_text(html);
      if (r == 0) out[id] = {{"articleBody", join_blocks(blocks)}}, bytes += html.size();
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best_seconds = std::min(best_seconds, took.count());
    best_cpu_seconds = std::min(best_cpu_seconds, static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC);
  }
  // The floor: libxml2's parse of the same pages, as the extractor calls it, with nothing read.
  double parse_seconds = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const std::clock_t start = std::clock();
    for (const auto& page : pages) {
      const vnawire::extract::dom::DocPtr doc = vnawire::extract::dom::parse_html(page.second, {});
      if (doc == nullptr) std::cerr << "no parse: " << page.first << "\n";
    }
    parse_seconds = std::min(parse_seconds, static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC);
  }
  std::ofstream(argv[2]) << out.dump(1) << "\n";
  std::printf("%zu pages, %.1f MB, best of %d runs: %.3f s, %.1f pages/s (one thread)\n", pages.size(),
              static_cast<double>(bytes) / 1e6, repeats, best_seconds,
              static_cast<double>(pages.size()) / best_seconds);
  std::printf("CPU time: %.3f s, %.1f pages/s\n", best_cpu_seconds, static_cast<double>(pages.size()) / best_cpu_seconds);
  std::printf("libxml2 parse alone, CPU time: %.3f s, %.1f pages/s\n", parse_seconds,
              static_cast<double>(pages.size()) / parse_seconds);
  return 0;
}
