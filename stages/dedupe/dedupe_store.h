// The dedupe memory: a log of recorded documents in LMDB (durable), and the indexes that decide, built
// from it in memory (id -> version, text -> first id, URL -> first id, near-duplicate bands). Decisions
// are recorded in group commits: one write transaction holds up to `commit_every` of them.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
  // The file is damaged (LMDB found a page it cannot read): recover() sets it aside.
  bool damaged = false;
};

class FingerprintStore {
 public:
  FingerprintStore() = default;
  ~FingerprintStore();
  FingerprintStore(const FingerprintStore&) = delete;
  FingerprintStore& operator=(const FingerprintStore&) = delete;

  // `commit_every` decisions share a write transaction (1: each is committed before it is returned).
  // A damaged store (LMDB reports a corrupt page, or a test write fails on a file far from full) is moved to
  // <directory>.damaged and an empty one is started: set_aside() then says so.
  runtime::Status open(const std::filesystem::path& directory, std::size_t map_size_bytes, int commit_every = 1);
  // Sets the damaged store aside and starts an empty one, after `why` (a Checked with `damaged`).
  runtime::Status recover(const std::string& why);
  // What open() or recover() set aside ("" when nothing).
  const std::string& set_aside() const { return set_aside_; }
  // Decides and records inside the open write transaction, so replicas sharing the store agree. `url` may
  // be empty; `near` may be null (exact checks only). `now` dates the record when `near` is null (0: the
  // clock). The transaction is committed once it holds `commit_every` decisions, or by commit().
  //
  // Until then the decisions it holds are not in the file: a crash forgets them, and the documents are
  // decided again if they come again. Other replicas wait for it.
  Checked check_and_record(const std::string& id, const std::string& fingerprint, const std::string& url = "",
                           const NearRequest* near = nullptr, std::int64_t now = 0);
  // Asks the memory for the index slots check_and_record() will read for this document, so that they
  // arrive while the caller does other work (decides the document before it). Changes nothing.
  void prefetch(const std::string& id, const std::string& text_fingerprint, const std::string& url,
                const NearSignature* signature) const;
  // Commits the open write transaction, if any: call it when no document is waiting, so that what was
  // decided is kept and other replicas can write. On failure the transaction's records are lost (the
  // documents were decided and passed on): the error says how many.
  runtime::Status commit();
  // Forgets up to `limit` recorded documents older than the window, oldest first; returns how many.
  runtime::Result<int> expire(std::int64_t now, std::int64_t window_seconds, int limit);
  // Commits, writes what was recorded to disk (the environment runs without a sync per transaction), and a
  // snapshot of the indexes once an hour (and at close), so that a restart reads less of the log.
  runtime::Status sync();

  const DedupeIndex& index() const { return index_; }
  // Times the indexes were found ahead of the log (another log's, or an older copy of this one) and
  // built again from it: each costs as much as a start without snapshot.
  std::uint64_t rebuilds() const { return rebuilds_; }
  // Log records read to decide (exact matches confirmed, near-duplicate candidates verified): each is a
  // random read of the log, the cost that grows with the index (docs/dedupe.md).
  std::uint64_t log_reads() const { return log_reads_; }

 private:
  MDB_env* env_ = nullptr;
  LogTables log_;
  MDB_txn* txn_ = nullptr;          // the open write transaction (group commit), or null
  std::uint64_t next_ = 0;          // while it is open: the log's next number
  std::uint64_t committed_ = 0;     // the log's next number at the last commit
  int in_txn_ = 0;                  // decisions made in it
  std::uint64_t in_txn_bytes_ = 0;  // and the bytes of the records it appended
  std::uint64_t page_size_ = 4096;
  // The records it appended, numbered: what a failed write makes it write again in a new transaction.
  std::vector<std::pair<std::uint64_t, Record>> uncommitted_;
  int commit_every_ = 1;
  std::uint64_t rebuilds_ = 0;
  std::uint64_t log_reads_ = 0;
  DedupeIndex index_;
  std::filesystem::path snapshot_;
  std::filesystem::path directory_;
  std::size_t map_size_bytes_ = 0;
  std::string set_aside_;
  int last_rc_ = 0;  // the LMDB error of the last failed open step

  runtime::Status open_environment();
  // A write the file's structure must allow (a free-list or root page damaged by a flipped bit shows here).
  int probe_write();
  // Opens and indexes the store in a child process (which writes the snapshot); returns why it could not
  // ("" when the child lived, whatever it found).
  std::string open_in_child();
  void close_environment();
  std::chrono::steady_clock::time_point saved_{};

  // Indexes what the in-memory indexes lack of the log: at open, and at the start of each write (another
  // replica sharing the store may have written since).
  // `next` is the log's next number, read on the way.
  int catch_up(MDB_txn* txn, std::uint64_t& next);
  // Opens the write transaction of the next decisions, if none is open; 0 or an LMDB error.
  int begin();
  // Aborts the open transaction and appends its earlier records again in a new one: after a write that
  // failed (a full map), which leaves a transaction that cannot commit. 0 or an LMDB error.
  int restart_transaction();
  // Commits the open transaction, if any: 0 or the LMDB error (its records are then lost).
  int commit_group();
  // Whether appending `bytes` more could find the map full at commit: a full map found by a write (or by
  // the commit) fails the whole transaction, so a group near the end of the map is committed first.
  bool near_map_end(std::uint64_t bytes) const;
  runtime::Status save_index();
  // The first of `numbers` whose record passes `check`, read into `record`; MDB_NOTFOUND when none does.
  template <typename Check>
  int first_record(MDB_txn* txn, const std::vector<std::uint32_t>& numbers, Check check, Record& record,
                   std::uint32_t* number = nullptr);
};

const char* decision_name(Decision decision);

}  // namespace vnawire::dedupe
