// The dedupe memory: fingerprint -> first id, id -> fingerprint, URL -> id and the near-duplicate index, in LMDB.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "stages/dedupe/dedupe_near.h"
#include "stages/dedupe/dedupe_near_index.h"
#include "stages/runtime/status.h"

struct MDB_env;

namespace vnawire::dedupe {

enum class Decision { Unique, Duplicate, NearDuplicate, Update, Replay };

struct Outcome {
  Decision decision = Decision::Unique;
  std::string of;         // for Duplicate and NearDuplicate: the id it copies
  double similarity = 0;  // for NearDuplicate: containment of shingles, 0..1
};

// What the near-duplicate check needs besides the exact fingerprints; absent, only exact checks run.
struct NearRequest {
  const NearSignature* signature = nullptr;
  const NearOptions* options = nullptr;
  std::int64_t now = 0;             // seconds since the epoch: the document's time in the index
  std::int64_t window_seconds = 0;  // older documents are neither candidates nor kept
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
  // Decides and records in one write transaction, so replicas sharing the store agree. `url` may be
  // empty; `near` may be null (exact checks only).
  Checked check_and_record(const std::string& id, const std::string& fingerprint, const std::string& url = "",
                           const NearRequest* near = nullptr);
  // Removes up to `limit` near-duplicate entries older than the window; returns how many it removed.
  runtime::Result<int> expire(std::int64_t now, std::int64_t window_seconds, int limit);
  // Writes what was recorded to disk (the environment runs without a sync per transaction), and a
  // snapshot of the band table once an hour (and at close), so that a restart reads less of the store.
  runtime::Status sync();

  const BandTable& bands() const { return bands_; }

 private:
  MDB_env* env_ = nullptr;
  unsigned int texts_ = 0;  // fingerprint -> id
  // fingerprint(id) -> fingerprint '\n' id. Keyed by a hash: LMDB keys stop at 511 bytes, ids at 1024.
  unsigned int ids_ = 0;
  unsigned int urls_ = 0;  // fingerprint(url) -> the first id seen with it
  NearTables near_;
  BandTable bands_;
  std::filesystem::path snapshot_;
  std::chrono::steady_clock::time_point saved_{};

  // Indexes what the band table lacks of the store: run at open and at the start of each write.
  int catch_up(MDB_txn* txn);
  runtime::Status save_bands();
};

const char* decision_name(Decision decision);

}  // namespace vnawire::dedupe
