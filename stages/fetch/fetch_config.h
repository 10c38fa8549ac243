// The fetch stage's options (one table, shared by the stage, `vnawire describe` and `vnawire fetch`) and the
// settings they turn into.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "stages/fetch/fetch_http.h"
#include "stages/fetch/fetch_web.h"
#include "stages/runtime/options.h"
#include "stages/runtime/stage.h"
#include "stages/runtime/status.h"

namespace vnawire::fetch {

struct DirectorySource {
  std::string name;
  std::filesystem::path directory;
  std::vector<std::string> extensions;
  bool recursive = false;
  std::int64_t settle_ms = 300;
  std::chrono::milliseconds interval{1000};
};

struct WarcSource {
  std::string name;
  std::filesystem::path path;  // a .warc / .warc.gz file, or a folder of them
};

struct FetchSettings {
  std::vector<WebSource> web;
  std::vector<DirectorySource> directories;
  std::vector<WarcSource> warcs;
  CrawlSettings crawl;
  HttpSettings http;
  double max_docs_per_second = 0;
  std::size_t max_bytes = 16u << 20;
  // A source's configured `language` by source name (sources without one are absent): a hint for langid.
  std::map<std::string, std::string> source_languages;
};

const runtime::OptionSpecs& fetch_option_specs();

// Turns bound options into settings; relative paths are taken under `state_dir`. Errors name the key, the
// source and its line ("sources[2].url: source vnaplus-en: kind feed needs an absolute http(s) URL… (line 9)").
runtime::Result<FetchSettings> fetch_settings_from(const runtime::Options& options,
                                                   const std::filesystem::path& state_dir);
// The same checks for `check-config` (the descriptor's check hook): no problem when the options make settings.
std::vector<runtime::OptionProblem> check_fetch_options(const runtime::Options& options,
                                                        const runtime::Options& pipeline);

// The settings `vnawire fetch URL...` uses: one auto source per URL, polled once (or every `interval`).
FetchSettings command_line_settings(const std::vector<std::string>& urls, bool allow_private,
                                    std::chrono::milliseconds interval);

}  // namespace vnawire::fetch
