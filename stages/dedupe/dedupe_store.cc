// LMDB-backed fingerprint store; MDB_NOSYNC plus an explicit sync at each flush keeps writes cheap.
#include "stages/dedupe/dedupe_store.h"

#include <lmdb.h>

#include <algorithm>
#include <cerrno>

#include "stages/dedupe/dedupe_normalize.h"

namespace vnawire::dedupe {
namespace {

runtime::Status lmdb_error(const char* what, int rc) {
  return runtime::Status::error(std::string(what) + ": " + mdb_strerror(rc));
}

MDB_val as_val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view as_view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

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

Checked failure(const char* what, int rc) {
  std::string message = std::string(what) + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL) message += " (raise the stage's map_size_mb)";
  return Checked{std::nullopt, std::move(message), transient(rc)};
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
    mdb_env_sync(env_, 1);
    (void)save_bands();  // a failed snapshot costs the next start a longer catch-up, nothing more
    mdb_env_close(env_);
  }
}

runtime::Status FingerprintStore::open(const std::filesystem::path& directory, std::size_t map_size_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return runtime::Status::error("cannot create " + directory.string() + ": " + ec.message());
  if (int rc = mdb_env_create(&env_); rc != 0) return lmdb_error("mdb_env_create", rc);
  mdb_env_set_maxdbs(env_, 8);
  mdb_env_set_mapsize(env_, map_size_bytes);
  if (int rc = mdb_env_open(env_, directory.c_str(), MDB_NOSYNC | MDB_WRITEMAP, 0644); rc != 0) {
    return lmdb_error(("cannot open LMDB at " + directory.string()).c_str(), rc);
  }
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0) return lmdb_error("mdb_txn_begin", rc);
  int rc = mdb_dbi_open(txn, "texts", MDB_CREATE, &texts_);
  if (rc == 0) rc = mdb_dbi_open(txn, "id_hashes", MDB_CREATE, &ids_);
  if (rc == 0) rc = mdb_dbi_open(txn, "urls", MDB_CREATE, &urls_);
  if (rc == 0) rc = open_near_tables(txn, near_);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("mdb_dbi_open", rc);
  }
  if (rc = mdb_txn_commit(txn); rc != 0) return lmdb_error("mdb_txn_commit", rc);
  // The band table: its snapshot, then what the store holds beyond it.
  near_.bands = &bands_;
  snapshot_ = directory / "near_bands.snapshot";
  bands_.load(snapshot_);
  saved_ = std::chrono::steady_clock::now();
  if (rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) return lmdb_error("mdb_txn_begin", rc);
  rc = catch_up(txn);
  mdb_txn_abort(txn);
  if (rc != 0) return lmdb_error("indexing the stored near-duplicate signatures", rc);
  return {};
}

int FingerprintStore::catch_up(MDB_txn* txn) {
  std::uint64_t next = 0, first = 0, indexed = 0;
  int rc = next_near_number(txn, near_, next);
  if (rc != 0 || next == bands_.indexed_next()) return rc;
  if (rc = first_near_number(txn, near_, first); rc != 0) return rc;
  // A snapshot ahead of the store belongs to another store (or a restored older copy): start afresh.
  if (next < bands_.indexed_next()) bands_.clear();
  bands_.set_first_live(static_cast<std::uint32_t>(first));
  const std::uint64_t from = std::max<std::uint64_t>(bands_.indexed_next(), first);
  if (rc = reindex_near_documents(txn, near_, from, NearOptions{}.bucket_scan, indexed); rc != 0) return rc;
  bands_.set_indexed_next(static_cast<std::uint32_t>(next));
  return 0;
}

runtime::Status FingerprintStore::save_bands() {
  saved_ = std::chrono::steady_clock::now();
  return bands_.save(snapshot_);
}

Checked FingerprintStore::check_and_record(const std::string& id, const std::string& text_fingerprint,
                                           const std::string& url, const NearRequest* near) {
  if (env_ == nullptr) return Checked{std::nullopt, "the fingerprint store is not open", false};
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == MDB_MAP_RESIZED) {  // another replica grew the map: take its size and go on
    rc = mdb_env_set_mapsize(env_, 0);
    if (rc == 0) rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  }
  if (rc != 0) return failure("mdb_txn_begin", rc);
  const auto abort_with = [&](const char* what, int code) {
    mdb_txn_abort(txn);
    return failure(what, code);
  };
  // Another replica sharing the store may have indexed documents since this one last wrote.
  if (rc = catch_up(txn); rc != 0) return abort_with("indexing another replica's documents", rc);
  const std::string id_key_text = fingerprint(id);
  const std::string url_key_text = url.empty() ? std::string() : fingerprint(url);
  MDB_val id_key = as_val(id_key_text), fp_key = as_val(text_fingerprint), url_key = as_val(url_key_text), found{};
  Outcome outcome;
  bool id_known = false;
  rc = mdb_get(txn, ids_, &id_key, &found);
  if (rc == 0) {
    // Read before the transaction ends: LMDB's data is only valid inside it.
    const std::string_view entry = as_view(found);
    const std::size_t newline = entry.find('\n');
    if (newline == std::string_view::npos || entry.substr(newline + 1) != id) {
      mdb_txn_abort(txn);
      return Checked{std::nullopt, "the id's hash " + id_key_text + " is recorded for another id", false};
    }
    id_known = true;
    outcome.decision = entry.substr(0, newline) == text_fingerprint ? Decision::Replay : Decision::Update;
  } else if (rc != MDB_NOTFOUND) {
    return abort_with("mdb_get", rc);
  }
  // The same page met through another feed or crawl is a duplicate, whatever its text became.
  if (!id_known && !url.empty()) {
    rc = mdb_get(txn, urls_, &url_key, &found);
    if (rc == 0 && as_view(found) != id) {
      outcome.of.assign(as_view(found));
      outcome.decision = Decision::Duplicate;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
      return abort_with("mdb_get", rc);
    }
  }
  if (!id_known && outcome.decision == Decision::Unique) {
    rc = mdb_get(txn, texts_, &fp_key, &found);
    if (rc == 0) {
      outcome.of.assign(as_view(found));
      outcome.decision = Decision::Duplicate;
      // This very id first had this text: a store written before ids were keyed by hash knows the text only.
      if (outcome.of == id) {
        outcome.decision = Decision::Replay;
        outcome.of.clear();
      }
    } else if (rc != MDB_NOTFOUND) {
      return abort_with("mdb_get", rc);
    }
  }
  const std::int64_t oldest = near == nullptr ? 0 : near->now - near->window_seconds;
  if (near != nullptr && outcome.decision == Decision::Unique) {
    std::optional<NearMatch> match;
    if (rc = find_near_duplicate(txn, near_, id, *near->signature, *near->options, oldest, match); rc != 0) {
      return abort_with("near-duplicate lookup", rc);
    }
    if (match) outcome = Outcome{Decision::NearDuplicate, match->of, match->similarity};
  }
  rc = 0;
  // Like an exact duplicate, a near duplicate leaves no trace under its id or text: a replay of it is
  // decided again (and dropped again), not taken for a replay of a unique document.
  const bool first_of_its_text = outcome.decision == Decision::Unique || outcome.decision == Decision::Update;
  if (outcome.decision == Decision::Update || (!id_known && first_of_its_text) ||
      (!id_known && outcome.decision == Decision::Replay)) {
    const std::string entry = text_fingerprint + '\n' + id;
    MDB_val entry_val = as_val(entry);
    rc = mdb_put(txn, ids_, &id_key, &entry_val, 0);
  }
  if (rc == 0 && first_of_its_text) {
    MDB_val id_val = as_val(id);
    rc = mdb_put(txn, texts_, &fp_key, &id_val, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) rc = 0;  // an update whose new text another id already had
    if (rc == 0 && !url.empty()) rc = mdb_put(txn, urls_, &url_key, &id_val, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) rc = 0;
  }
  // Near duplicates are indexed too: the next re-edit may be closer to the copy than to the original.
  if (rc == 0 && near != nullptr && (first_of_its_text || outcome.decision == Decision::NearDuplicate) &&
      !near->signature->shingles.empty()) {
    rc = index_near_document(txn, near_, id, *near->signature, *near->options, near->now);
  }
  if (rc != 0) return abort_with("mdb_put", rc);
  if (rc = mdb_txn_commit(txn); rc != 0) return failure("mdb_txn_commit", rc);
  return Checked{outcome, "", false};
}

runtime::Result<int> FingerprintStore::expire(std::int64_t now, std::int64_t window_seconds, int limit) {
  if (env_ == nullptr) return 0;
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  int removed = 0;
  if (rc == 0) rc = expire_near_documents(txn, near_, now - window_seconds, limit, removed);
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
  } else if (txn != nullptr) {
    mdb_txn_abort(txn);
  }
  if (rc != 0) return lmdb_error("expiring near-duplicate entries", rc);
  return removed;
}

runtime::Status FingerprintStore::sync() {
  if (env_ == nullptr) return {};
  if (int rc = mdb_env_sync(env_, 1); rc != 0) return lmdb_error("mdb_env_sync", rc);
  if (std::chrono::steady_clock::now() - saved_ >= std::chrono::hours(1)) return save_bands();
  return {};
}

}  // namespace vnawire::dedupe
