// The dedupe stage's options (one table, shared by the stage and `vnawire describe`) and the settings
// they turn into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "stages/dedupe/dedupe_near.h"
#include "stages/runtime/options.h"

namespace vnawire::dedupe {

struct DedupeSettings {
  bool tag_only = false;       // exact duplicates are tagged and passed rather than dropped
  bool near_tag_only = false;  // the same for near duplicates
  std::string db_path;         // empty: <stage_dir>/fingerprints.lmdb
  std::size_t map_size_bytes = 0;
  NearOptions near;
  std::int64_t window_seconds = 0;
  int expire_per_flush = 0;
  int commit_every = 1;  // decisions per LMDB write transaction while documents queue up
};

const runtime::OptionSpecs& dedupe_option_specs();

// The options, already bound and checked against the table.
DedupeSettings dedupe_settings_from(const runtime::Options& options);

}  // namespace vnawire::dedupe
