// The dedupe stage's option table and how it becomes settings.
#include "stages/dedupe/dedupe_config.h"

namespace vnawire::dedupe {

using runtime::OptionSpec;
using runtime::OptionType;

const runtime::OptionSpecs& dedupe_option_specs() {
  static const runtime::OptionSpecs specs{
      OptionSpec{"action",
                 OptionType::String,
                 std::string("drop"),
                 "What to do with a duplicate: drop it (acknowledged as dropped) or tag it and pass it on.",
                 false,
                 std::nullopt,
                 std::nullopt,
                 {"drop", "tag"}},
      OptionSpec{"db_path", OptionType::String, std::string(""),
                 "LMDB folder of fingerprints; empty means <state_dir>/<stage>/fingerprints.lmdb."},
      OptionSpec{"map_size_mb", OptionType::Int, std::int64_t{16384},
                 "Largest size of the fingerprint database, in MiB: about 5 KB per document of the window with "
                 "near duplicates on (docs/dedupe.md), 150 bytes with near_method off.",
                 false, 1.0, 1048576.0},
      OptionSpec{"near_action",
                 OptionType::String,
                 std::string("drop"),
                 "What to do with a near duplicate (a re-edited copy): drop it or tag it and pass it on.",
                 false,
                 std::nullopt,
                 std::nullopt,
                 {"drop", "tag"}},
      OptionSpec{"near_method",
                 OptionType::String,
                 std::string("minhash"),
                 "How near-duplicate candidates are found: MinHash with LSH bands, SimHash blocks, or off "
                 "(exact duplicates only); docs/dedupe.md compares them.",
                 false,
                 std::nullopt,
                 std::nullopt,
                 {"minhash", "simhash", "off"}},
      OptionSpec{"near_threshold", OptionType::Double, 0.35,
                 "Share of the shorter text's word shingles found in the other for a candidate to be a near "
                 "duplicate (candidates naming different years or ordinals never are).",
                 false, 0.0, 1.0},
      OptionSpec{"shingle_words", OptionType::Int, std::int64_t{3}, "Words per shingle.", false, 1.0, 16.0},
      OptionSpec{"minhash_bands", OptionType::Int, std::int64_t{32},
                 "MinHash: LSH bands; more bands find less similar candidates at more index entries per document.",
                 false, 1.0, 512.0},
      OptionSpec{"minhash_rows", OptionType::Int, std::int64_t{1},
                 "MinHash: rows per band (permutations = bands x rows); more rows make candidates stricter.", false,
                 1.0, 32.0},
      OptionSpec{"simhash_max_distance", OptionType::Int, std::int64_t{3},
                 "SimHash: the most differing bits of a near duplicate (4 blocks of 16 bits find every pair within 3).",
                 false, 0.0, 3.0},
      OptionSpec{"near_max_candidates", OptionType::Int, std::int64_t{64},
                 "Candidates verified per document, those sharing most bands first: bounds the cost per document.",
                 false, 1.0, 10000.0},
      OptionSpec{"window_days", OptionType::Int, std::int64_t{90},
                 "Near duplicates are looked for among the documents of this many days; older entries are removed.",
                 false, 1.0, 36500.0},
      OptionSpec{"commit_every", OptionType::Int, std::int64_t{64},
                 "Decisions recorded per LMDB commit while documents queue up; whatever is decided is committed "
                 "as soon as no document waits, at each flush and at stop. A crash forgets at most this many "
                 "decisions (docs/dedupe.md).",
                 false, 1.0, 10000.0},
      OptionSpec{"expire_per_flush", OptionType::Int, std::int64_t{1000},
                 "Most expired near-duplicate entries removed at each flush, so that no flush stalls the stream.",
                 false, 1.0, 1000000.0},
  };
  return specs;
}

DedupeSettings dedupe_settings_from(const runtime::Options& options) {
  DedupeSettings settings;
  settings.tag_only = options.get_string("action") == "tag";
  settings.near_tag_only = options.get_string("near_action") == "tag";
  settings.db_path = options.get_string("db_path");
  settings.map_size_bytes = static_cast<std::size_t>(options.get_int("map_size_mb")) << 20;
  const std::string& method = options.get_string("near_method");
  settings.near.method = method == "simhash" ? NearMethod::SimHash
                         : method == "off"   ? NearMethod::Off
                                             : NearMethod::MinHash;
  settings.near.threshold = options.get_double("near_threshold");
  settings.near.shingle_words = static_cast<int>(options.get_int("shingle_words"));
  settings.near.bands = static_cast<int>(options.get_int("minhash_bands"));
  settings.near.rows = static_cast<int>(options.get_int("minhash_rows"));
  settings.near.simhash_max_distance = static_cast<int>(options.get_int("simhash_max_distance"));
  settings.near.max_candidates = static_cast<int>(options.get_int("near_max_candidates"));
  settings.window_seconds = options.get_int("window_days") * 86400;
  settings.expire_per_flush = static_cast<int>(options.get_int("expire_per_flush"));
  settings.commit_every = static_cast<int>(options.get_int("commit_every"));
  return settings;
}

}  // namespace vnawire::dedupe
