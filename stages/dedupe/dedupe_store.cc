// The fingerprint store: decisions from the in-memory indexes, one appended log record per recorded
// document, written in group commits; MDB_NOSYNC plus an explicit sync at each flush keeps writes cheap.
//
// No MDB_WRITEMAP: written through the map, each page the log grows into was faulted in from a hole of
// the sparse file and zero-filled (with read-ahead), and every page written back was write-protected
// again: page faults were a third of the time per document. Without it, a commit is one writev() of
// the transaction's dirty pages, which a group commit shares among its documents.
#include "stages/dedupe/dedupe_store.h"

#include <lmdb.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <limits>

#include "stages/dedupe/dedupe_normalize.h"

namespace vnawire::dedupe {
namespace {

runtime::Status lmdb_error(const char* what, int rc) {
  return runtime::Status::error(std::string(what) + ": " + mdb_strerror(rc));
}

// Failures that come from the machine, not from this document or the file, may pass on a retry.
bool transient(int rc) {
  switch (rc) {
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:
    case EAGAIN:
    case EBUSY:
    case EINTR:
    case EIO:
    case ENOMEM:
    case ENOSPC:
      return true;
    default:
      return false;
  }
}

// LMDB's errors for a file whose pages do not hold what they should: a flipped bit, a truncation.
// (A damaged page met inside a transaction also leaves the transaction unusable: MDB_BAD_TXN after it.)
bool damage(int rc) {
  switch (rc) {
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_BAD_TXN:
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
    case MDB_INCOMPATIBLE:
      return true;
    default:
      return false;
  }
}

Checked failure(const char* what, int rc) {
  std::string message = std::string(what) + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL) message += " (raise the stage's map_size_mb)";
  return Checked{std::nullopt, std::move(message), transient(rc) || damage(rc), damage(rc)};
}

}  // namespace

const char* decision_name(Decision decision) {
  switch (decision) {
    case Decision::Unique:
      return "unique";
    case Decision::Duplicate:
      return "duplicate";
    case Decision::NearDuplicate:
      return "near_duplicate";
    case Decision::Update:
      return "update";
    case Decision::Replay:
      return "replay";
  }
  return "unique";
}

FingerprintStore::~FingerprintStore() {
  if (env_ != nullptr) {
    (void)commit();  // a failure is the loss of the last decisions, which a destructor cannot report
    mdb_env_sync(env_, 1);
    // A failed snapshot costs the next start a longer catch-up, nothing more; a store that never opened
    // has no snapshot path (it wrote ".bands" and the like in the working folder).
    if (!snapshot_.empty()) (void)save_index();
    mdb_env_close(env_);
  }
}

runtime::Status FingerprintStore::open(const std::filesystem::path& directory, std::size_t map_size_bytes,
                                       int commit_every) {
  commit_every_ = std::max(1, commit_every);
  directory_ = directory;
  map_size_bytes_ = map_size_bytes;
  // LMDB trusts its pages: a damaged one can make it abort the process (mdb_assert) or read out of bounds,
  // which would make this stage crash at every start. A child process opens the store first, indexes it
  // and writes the snapshot this process then loads; if the child dies of it, the store is set aside.
  if (const std::string crashed = open_in_child(); !crashed.empty()) return recover(crashed);
  runtime::Status opened = open_environment();
  if (opened.ok()) {
    last_rc_ = probe_write();
    if (last_rc_ != 0) opened = lmdb_error("a test write to the fingerprint store", last_rc_);
  }
  // A full map on a file far smaller than the map is a damaged free list, not a full store.
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(directory / "data.mdb", ec);
  const bool wrongly_full = last_rc_ == MDB_MAP_FULL && !ec && file_bytes < map_size_bytes / 2;
  if (opened.ok() || !(damage(last_rc_) || wrongly_full)) return opened;
  return recover(opened.message());
}

std::string FingerprintStore::open_in_child() {
  std::fflush(nullptr);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) return "";  // no check then: the open below is the same, only unguarded
  if (child == 0) {
    // Dies with the stage, as the supervisor's children die with the daemon: a stage killed while its
    // check ran left the check running on, orphaned (seen once under ASan, whose allocator lock a fork
    // of this multi-threaded process can inherit held, so the child never finished).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(4);  // the stage died between fork and prctl
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    int code = 0;
    {
      FingerprintStore trial;
      trial.directory_ = directory_;
      trial.map_size_bytes_ = map_size_bytes_;
      const runtime::Status opened = trial.open_environment();
      if (opened.ok() && trial.probe_write() == 0) {
        (void)trial.save_index();
      } else {
        code = damage(trial.last_rc_) ? 3 : 4;
      }
      trial.snapshot_.clear();  // saved above when it opened; nothing more at destruction
    }
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return std::string("opening it killed a test process with signal ") + ::strsignal(WTERMSIG(status));
  }
  return "";  // a damaged file the child saw (exit 3) shows again in the open below, which recovers from it
}

int FingerprintStore::probe_write() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  MDB_dbi probe = 0;
  if (rc == 0) rc = mdb_dbi_open(txn, "probe", MDB_CREATE, &probe);
  char key[] = "probe", value[] = "1";
  MDB_val k{sizeof key, key}, v{sizeof value, value};
  if (rc == 0) rc = mdb_put(txn, probe, &k, &v, 0);
  if (rc == 0) rc = mdb_drop(txn, probe, 1);
  if (rc == 0) return mdb_txn_commit(txn);
  if (txn != nullptr) mdb_txn_abort(txn);
  return rc;
}

void FingerprintStore::close_environment() {
  if (env_ == nullptr) return;
  if (txn_ != nullptr) mdb_txn_abort(txn_);
  txn_ = nullptr;
  mdb_env_close(env_);
  env_ = nullptr;
  log_ = LogTables{};
  next_ = committed_ = 0;
  in_txn_ = 0;
  in_txn_bytes_ = 0;
  uncommitted_.clear();
  index_.clear();
}

runtime::Status FingerprintStore::recover(const std::string& why) {
  close_environment();
  std::filesystem::path damaged = directory_;
  damaged += ".damaged";
  std::error_code ec;
  std::filesystem::remove_all(damaged, ec);
  std::filesystem::rename(directory_, damaged, ec);
  if (ec) return runtime::Status::error(why + "; and it cannot be set aside: " + ec.message());
  set_aside_ = "the fingerprint store is damaged (" + why + "): moved to " + damaged.string() +
               "; dedupe starts again with an empty memory, so documents seen before pass as unique once";
  ++rebuilds_;
  return open_environment();
}

runtime::Status FingerprintStore::open_environment() {
  const std::filesystem::path& directory = directory_;
  const std::size_t map_size_bytes = map_size_bytes_;
  last_rc_ = 0;
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return runtime::Status::error("cannot create " + directory.string() + ": " + ec.message());
  if (int rc = mdb_env_create(&env_); rc != 0) return lmdb_error("mdb_env_create", rc);
  mdb_env_set_maxdbs(env_, 8);
  mdb_env_set_mapsize(env_, map_size_bytes);
  if (int rc = mdb_env_open(env_, directory.c_str(), MDB_NOSYNC, 0644); rc != 0) {
    last_rc_ = rc;
    return lmdb_error(("cannot open LMDB at " + directory.string()).c_str(), rc);
  }
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0) return lmdb_error("mdb_txn_begin", rc);
  // A store of the first format (tables "texts", "id_hashes", "near_docs") cannot be read by this one.
  MDB_dbi old = 0;
  if (mdb_dbi_open(txn, "texts", 0, &old) == 0) {
    mdb_txn_abort(txn);
    close_environment();
    return runtime::Status::error("the fingerprint store " + directory.string() +
                                  " was written by an earlier vnawire in a format this one does not read: move it "
                                  "away (dedupe then starts with an empty memory)");
  }
  MDB_stat stat{};
  if (mdb_env_stat(env_, &stat) == 0) page_size_ = stat.ms_psize;
  int rc = open_log(txn, log_);
  std::uint32_t format = 0;
  if (rc == 0) rc = check_log_format(txn, log_, format);
  if (rc == 0 && format > kLogFormat) {
    mdb_txn_abort(txn);
    close_environment();  // left as it is, and this object may open another store
    const std::string found = format == std::numeric_limits<std::uint32_t>::max() ? "unknown" : std::to_string(format);
    return runtime::Status::error(
        "the fingerprint store " + directory.string() + " was written by a newer vnawire (log format " + found +
        "; this one reads up to " + std::to_string(kLogFormat) +
        "): run that version, or move the store away (dedupe then starts with an empty memory)");
  }
  if (rc == 0)
    rc = mdb_txn_commit(txn);
  else
    mdb_txn_abort(txn);
  if (rc != 0) {
    last_rc_ = rc;
    return lmdb_error("opening the dedupe log", rc);
  }
  snapshot_ = directory / "index.snapshot";
  index_.load(snapshot_);
  saved_ = std::chrono::steady_clock::now();
  if (rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) return lmdb_error("mdb_txn_begin", rc);
  std::uint64_t next = 0;
  rc = catch_up(txn, next);
  mdb_txn_abort(txn);
  if (rc != 0) {
    last_rc_ = rc;
    return lmdb_error("indexing the dedupe log", rc);
  }
  return {};
}

int FingerprintStore::catch_up(MDB_txn* txn, std::uint64_t& next) {
  std::uint64_t first = 0;
  int rc = next_number(txn, log_, next);
  if (rc != 0 || next == index_.indexed_next()) return rc;
  // An index ahead of the log belongs to another log (or to a restored older copy of this one).
  if (next < index_.indexed_next()) {
    index_.clear();
    ++rebuilds_;
  }
  if (rc = first_number(txn, log_, first); rc != 0) return rc;
  index_.expire_below(first);
  const DedupeIndex::ReadRecord read = [&](std::uint64_t number, Record& record) {
    return read_record(txn, log_, number, record);
  };
  rc = for_each_record(txn, log_, std::max<std::uint64_t>(index_.indexed_next(), first),
                       [&](std::uint64_t number, const Record& record) {
                         return index_.apply(number, record, read, NearOptions{}.bucket_scan);
                       });
  if (rc == 0) index_.set_indexed_next(next);
  return rc;
}

template <typename Check>
int FingerprintStore::first_record(MDB_txn* txn, const std::vector<std::uint32_t>& numbers, Check check, Record& record,
                                   std::uint32_t* number) {
  for (std::uint32_t candidate : numbers) {
    ++log_reads_;
    const int rc = read_record(txn, log_, candidate, record);
    if (rc == MDB_NOTFOUND || rc == EINVAL) continue;  // expired, never committed, or unreadable
    if (rc != 0) return rc;
    if (check(record)) {
      if (number != nullptr) *number = candidate;
      return 0;
    }
  }
  return MDB_NOTFOUND;
}

namespace {

// The most similar recorded document of another id within the window, if one passes the check. Reads at
// most bucket_scan numbers per band and verifies at most max_candidates, whatever the index size.
int find_near_duplicate(MDB_txn* txn, const LogTables& log, const BandTable& bands, const std::string& id,
                        const NearSignature& signature, const NearOptions& options, std::int64_t oldest_time,
                        std::optional<Outcome>& match, std::uint64_t& reads) {
  std::vector<std::uint32_t> numbers;
  numbers.reserve(signature.band_keys.size() * 2);
  bands.lookup(signature.band_keys, options.bucket_scan, numbers);
  std::sort(numbers.begin(), numbers.end());
  std::vector<std::pair<int, std::uint32_t>> ranked;  // bands shared, number
  for (std::size_t i = 0; i < numbers.size();) {
    std::size_t j = i;
    while (j < numbers.size() && numbers[j] == numbers[i]) ++j;
    ranked.emplace_back(static_cast<int>(j - i), numbers[i]);
    i = j;
  }
  // Most shared bands first (the best estimate of similarity), then the oldest: copies point to the original.
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  if (options.method == NearMethod::MinHash) {
    const auto chance = std::find_if(ranked.begin(), ranked.end(),
                                     [&](const auto& entry) { return entry.first < options.min_shared_bands; });
    ranked.erase(chance, ranked.end());
  }
  if (ranked.size() > static_cast<std::size_t>(options.max_candidates))
    ranked.resize(static_cast<std::size_t>(options.max_candidates));
  Record candidate;
  for (const auto& [shared, number] : ranked) {
    ++reads;
    const int rc = read_record(txn, log, number, candidate);
    if (rc == MDB_NOTFOUND || rc == EINVAL) continue;
    if (rc != 0) return rc;
    if (!candidate.signature || candidate.id == id || candidate.time < oldest_time) continue;
    const double similarity = near_similarity(signature, *candidate.signature, options);
    if (similarity > 0 && (!match || similarity > match->similarity)) {
      match = Outcome{Decision::NearDuplicate, candidate.id, similarity};
    }
  }
  return 0;
}

std::int64_t clock_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void FingerprintStore::prefetch(const std::string& id, const std::string& text_fingerprint, const std::string& url,
                                const NearSignature* signature) const {
  index_.prefetch(id, text_fingerprint, url.empty() ? std::string() : fingerprint(url),
                  signature != nullptr ? &signature->band_keys : nullptr);
}

Checked FingerprintStore::check_and_record(const std::string& id, const std::string& text_fingerprint,
                                           const std::string& url, const NearRequest* near, std::int64_t now) {
  if (env_ == nullptr) return Checked{std::nullopt, "the fingerprint store is not open", false};
  const std::string url_fingerprint = url.empty() ? std::string() : fingerprint(url);
  index_.prefetch(id, text_fingerprint, url_fingerprint, near != nullptr ? &near->signature->band_keys : nullptr);
  int rc = begin();
  if (rc != 0) return failure("opening a write transaction", rc);
  MDB_txn* txn = txn_;
  const std::uint64_t number = next_;  // the log's next: this document's, if it is recorded
  Outcome outcome;
  Record found;
  // The id's current version: the same text again is a replay, another text an update.
  rc = first_record(
      txn, index_.version_of(id), [&](const Record& r) { return r.id == id && r.kind == RecordKind::Version; }, found);
  const bool id_known = rc == 0;
  if (rc != 0 && rc != MDB_NOTFOUND) return failure("reading the log", rc);
  if (id_known) outcome.decision = found.text_fingerprint == text_fingerprint ? Decision::Replay : Decision::Update;
  // The same page met through another feed or crawl is a duplicate, whatever its text became.
  if (!id_known && !url.empty()) {
    rc = first_record(
        txn, index_.first_with_url(url_fingerprint),
        [&](const Record& r) { return r.url_fingerprint == url_fingerprint && r.kind == RecordKind::Version; }, found);
    if (rc == 0 && found.id != id) outcome = Outcome{Decision::Duplicate, found.id, 1.0};
    if (rc != 0 && rc != MDB_NOTFOUND) return failure("reading the log", rc);
  }
  if (!id_known && outcome.decision == Decision::Unique) {
    rc = first_record(
        txn, index_.first_with_text(text_fingerprint),
        [&](const Record& r) { return r.text_fingerprint == text_fingerprint && r.kind == RecordKind::Version; },
        found);
    if (rc == 0)
      outcome = found.id == id ? Outcome{Decision::Replay, "", 0} : Outcome{Decision::Duplicate, found.id, 1};
    if (rc != 0 && rc != MDB_NOTFOUND) return failure("reading the log", rc);
  }
  const bool near_on = near != nullptr && !near->signature->shingles.empty();
  if (near_on && outcome.decision == Decision::Unique) {
    std::optional<Outcome> match;
    rc = find_near_duplicate(txn, log_, index_.bands(), id, *near->signature, *near->options,
                             near->now - near->window_seconds, match, log_reads_);
    if (rc != 0) return failure("near-duplicate lookup", rc);
    if (match) outcome = *match;
  }
  // What is recorded: a unique document or an update as the id's version (the first of its text and
  // URL); a near duplicate for its bands only, so that a replay of it is decided (and dropped) again,
  // and a re-edit of it is still found. Duplicates and replays leave no trace.
  Record record;
  const bool version = outcome.decision == Decision::Unique || outcome.decision == Decision::Update;
  bool write = version;
  if (outcome.decision == Decision::NearDuplicate) {
    // A replay of the same near copy: its record is there already.
    rc = first_record(
        txn, index_.near_record_of(id),
        [&](const Record& r) {
          return r.id == id && r.signature && r.signature->shingles == near->signature->shingles;
        },
        found);
    if (rc != 0 && rc != MDB_NOTFOUND) return failure("reading the log", rc);
    write = rc == MDB_NOTFOUND;
  }
  if (write) {
    record.time = near != nullptr ? near->now : (now != 0 ? now : clock_seconds());
    record.kind = version ? RecordKind::Version : RecordKind::NearCopy;
    record.text_fingerprint = text_fingerprint;
    record.url_fingerprint = url_fingerprint;
    record.id = id;
    if (near_on) record.signature = *near->signature;
    if (in_txn_ > 0 && near_map_end(encoded_size(record))) {
      if (rc = commit_group(); rc != 0) return failure("mdb_txn_commit", rc);
      if (rc = begin(); rc != 0) return failure("opening a write transaction", rc);
      txn = txn_;
      // Another replica wrote between the two transactions: decide again.
      if (next_ != number) return Checked{std::nullopt, "another replica wrote meanwhile", true};
    }
    if (rc = append_record(txn, log_, record, number); rc != 0) {
      // The transaction cannot commit after a failed write: the decisions before this one are written
      // again in a new transaction, this document fails alone.
      const int again = restart_transaction();
      return failure(again == 0 ? "mdb_put" : "mdb_put, and writing the earlier decisions again", rc);
    }
    ++next_;
    in_txn_bytes_ += encoded_size(record);
    // Indexed at once, so that the next documents of the transaction see it: a record that never
    // commits leaves entries that name a missing (or, later, another) record, which verification skips.
    const DedupeIndex::ReadRecord read = [&](std::uint64_t earlier, Record& previous) {
      return read_record(txn, log_, earlier, previous);
    };
    const int per_band = near != nullptr ? near->options->bucket_scan : NearOptions{}.bucket_scan;
    (void)index_.apply(number, record, read, per_band);  // a failed read leaves an old entry to verification
    index_.set_indexed_next(next_);
    uncommitted_.emplace_back(number, std::move(record));
  }
  // Near the end of the map each decision is committed alone, so that a full map fails the document
  // that filled it rather than a group already passed on.
  if (++in_txn_ >= commit_every_ || near_map_end(0)) {
    const std::size_t records = uncommitted_.size();
    if (rc = commit_group(); rc != 0) {
      Checked failed = failure("mdb_txn_commit", rc);
      if (records > 1) failed.error += ": the " + std::to_string(records - 1) + " decision(s) before it are lost";
      return failed;
    }
  }
  return Checked{outcome, "", false};
}

int FingerprintStore::begin() {
  if (txn_ != nullptr) return 0;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn_);
  if (rc == MDB_MAP_RESIZED) {  // another replica grew the map: take its size and go on
    rc = mdb_env_set_mapsize(env_, 0);
    if (rc == 0) rc = mdb_txn_begin(env_, nullptr, 0, &txn_);
  }
  // What another replica recorded since this one last wrote is indexed before anything is decided.
  if (rc == 0) rc = catch_up(txn_, next_);
  if (rc != 0) {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    txn_ = nullptr;
    return rc;
  }
  committed_ = next_;
  in_txn_ = 0;
  in_txn_bytes_ = 0;
  uncommitted_.clear();
  return 0;
}

bool FingerprintStore::near_map_end(std::uint64_t bytes) const {
  MDB_envinfo info{};
  if (mdb_env_info(env_, &info) != 0) return false;
  // Pages the group may take beyond the last commit's: its records twice over (leaves split half
  // full), a copied path per decision, and the freelist and meta pages of the commit.
  const std::uint64_t pages = 2 * (in_txn_bytes_ + bytes) / page_size_ + 2 * static_cast<std::uint64_t>(in_txn_) + 64;
  return info.me_last_pgno + pages >= info.me_mapsize / page_size_;
}

int FingerprintStore::restart_transaction() {
  std::vector<std::pair<std::uint64_t, Record>> records = std::move(uncommitted_);
  mdb_txn_abort(txn_);
  txn_ = nullptr;
  // The log ends at the last commit again: were the index left ahead of it, begin() would take it for
  // another log's and index the whole log again.
  index_.set_indexed_next(committed_);
  int rc = begin();
  for (auto& [number, record] : records) {
    if (rc != 0) break;
    if (number != next_) {
      rc = MDB_CORRUPTED;  // the log moved under this replica: nothing to do but lose them
      break;
    }
    rc = append_record(txn_, log_, record, number);
    if (rc == 0) {
      ++next_;
      ++in_txn_;
      uncommitted_.emplace_back(number, std::move(record));
    }
  }
  if (rc != 0 && txn_ != nullptr) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
  index_.set_indexed_next(txn_ != nullptr ? next_ : committed_);
  if (rc == 0) rc = commit_group();  // kept, if they fit, before anything else is tried
  return rc;
}

int FingerprintStore::commit_group() {
  if (txn_ == nullptr) return 0;
  const int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  in_txn_ = 0;
  in_txn_bytes_ = 0;
  uncommitted_.clear();
  if (rc == 0) {
    committed_ = next_;
  } else {
    // The log ends where the last commit left it; the index forgets nothing, its entries for the lost
    // records are skipped by verification, and it takes the log's numbering up again from there.
    index_.set_indexed_next(committed_);
  }
  return rc;
}

runtime::Status FingerprintStore::commit() {
  const std::size_t records = uncommitted_.size();
  if (const int rc = commit_group(); rc != 0) {
    return runtime::Status::error("mdb_txn_commit: " + std::string(mdb_strerror(rc)) + ": the last " +
                                  std::to_string(records) + " recorded decision(s) are lost");
  }
  return {};
}

runtime::Result<int> FingerprintStore::expire(std::int64_t now, std::int64_t window_seconds, int limit) {
  if (env_ == nullptr) return 0;
  if (const runtime::Status status = commit(); !status.ok()) return status;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  int removed = 0;
  std::uint64_t first = 0;
  if (rc == 0) rc = expire_records(txn, log_, now - window_seconds, limit, removed);
  if (rc == 0) rc = first_number(txn, log_, first);
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
  } else if (txn != nullptr) {
    mdb_txn_abort(txn);
  }
  if (rc != 0) return lmdb_error("expiring recorded documents", rc);
  index_.expire_below(first);
  return removed;
}

runtime::Status FingerprintStore::save_index() {
  saved_ = std::chrono::steady_clock::now();
  return index_.save(snapshot_);
}

runtime::Status FingerprintStore::sync() {
  if (env_ == nullptr) return {};
  if (runtime::Status status = commit(); !status.ok()) return status;
  if (int rc = mdb_env_sync(env_, 1); rc != 0) return lmdb_error("mdb_env_sync", rc);
  if (std::chrono::steady_clock::now() - saved_ >= std::chrono::hours(1)) return save_index();
  return {};
}

}  // namespace vnawire::dedupe
