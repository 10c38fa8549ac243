// The dedupe memory: a log of recorded documents in LMDB (durable), and the indexes that decide, built
// from it in memory (id -> version, text -> first id, URL -> first id, near-duplicate bands).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "stages/dedupe/dedupe_index.h"
#include "stages/dedupe/dedupe_log.h"
#include "stages/dedupe/dedupe_near.h"
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
  std::int64_t now = 0;             // seconds since the epoch: the document's time in the log
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
  // empty; `near` may be null (exact checks only). `now` dates the record when `near` is null (0: the clock).
  Checked check_and_record(const std::string& id, const std::string& fingerprint, const std::string& url = "",
                           const NearRequest* near = nullptr, std::int64_t now = 0);
  // Forgets up to `limit` recorded documents older than the window, oldest first; returns how many.
  runtime::Result<int> expire(std::int64_t now, std::int64_t window_seconds, int limit);
  // Writes what was recorded to disk (the environment runs without a sync per transaction), and a
  // snapshot of the indexes once an hour (and at close), so that a restart reads less of the log.
  runtime::Status sync();

  const DedupeIndex& index() const { return index_; }

 private:
  MDB_env* env_ = nullptr;
  LogTables log_;
  DedupeIndex index_;
  std::filesystem::path snapshot_;
  std::chrono::steady_clock::time_point saved_{};

  // Indexes what the in-memory indexes lack of the log: at open, and at the start of each write (another
  // replica sharing the store may have written since).
  // `next` is the log's next number, read on the way.
  int catch_up(MDB_txn* txn, std::uint64_t& next);
  runtime::Status save_index();
  // The first of `numbers` whose record passes `check`, read into `record`; MDB_NOTFOUND when none does.
  template <typename Check>
  int first_record(MDB_txn* txn, const std::vector<std::uint32_t>& numbers, Check check, Record& record,
                   std::uint32_t* number = nullptr);
};

const char* decision_name(Decision decision);

}  // namespace vnawire::dedupe
