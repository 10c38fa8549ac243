// The dedupe memory: fingerprint -> first id, and id -> fingerprint, in LMDB (shared by replicas).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "stages/runtime/status.h"

struct MDB_env;

namespace vnawire::dedupe {

enum class Decision { Unique, Duplicate, Update, Replay };

struct Outcome {
  Decision decision = Decision::Unique;
  std::string of;  // for Duplicate: the id seen first with this text
};

// A decision, or why the store could not make one.
struct Checked {
  std::optional<Outcome> outcome;  // empty on failure
  std::string error;
  // The failure may pass on a retry (readers table full, disk full or failing); the others (map full,
  // a corrupt or incompatible file) never will for this document.
  bool transient = false;
};

class FingerprintStore {
 public:
  FingerprintStore() = default;
  ~FingerprintStore();
  FingerprintStore(const FingerprintStore&) = delete;
  FingerprintStore& operator=(const FingerprintStore&) = delete;

  runtime::Status open(const std::filesystem::path& directory, std::size_t map_size_bytes);
  // Decides and records in one write transaction, so replicas sharing the store agree.
  Checked check_and_record(const std::string& id, const std::string& fingerprint);
  // Writes what was recorded to disk (the environment runs without a sync per transaction).
  runtime::Status sync();

 private:
  Checked decide(const std::string& id, const std::string& fingerprint);

  MDB_env* env_ = nullptr;
  unsigned int texts_ = 0;  // fingerprint -> id
  // fingerprint(id) -> fingerprint '\n' id. Keyed by a hash: LMDB keys stop at 511 bytes, ids at 1024.
  unsigned int ids_ = 0;
};

const char* decision_name(Decision decision);

}  // namespace vnawire::dedupe
