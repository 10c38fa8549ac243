// LMDB-backed fingerprint store; MDB_NOSYNC plus an explicit sync at each flush keeps writes cheap.
#include "stages/dedupe/dedupe_store.h"

#include <lmdb.h>

namespace vnawire::dedupe {
namespace {

runtime::Status lmdb_error(const char* what, int rc) {
  return runtime::Status::error(std::string(what) + ": " + mdb_strerror(rc));
}

MDB_val as_val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

}  // namespace

const char* decision_name(Decision decision) {
  switch (decision) {
    case Decision::Unique:
      return "unique";
    case Decision::Duplicate:
      return "duplicate";
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
    mdb_env_close(env_);
  }
}

runtime::Status FingerprintStore::open(const std::filesystem::path& directory, std::size_t map_size_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return runtime::Status::error("cannot create " + directory.string() + ": " + ec.message());
  if (int rc = mdb_env_create(&env_); rc != 0) return lmdb_error("mdb_env_create", rc);
  mdb_env_set_maxdbs(env_, 4);
  mdb_env_set_mapsize(env_, map_size_bytes);
  if (int rc = mdb_env_open(env_, directory.c_str(), MDB_NOSYNC, 0644); rc != 0) {
    return lmdb_error(("cannot open LMDB at " + directory.string()).c_str(), rc);
  }
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0) return lmdb_error("mdb_txn_begin", rc);
  int rc = mdb_dbi_open(txn, "texts", MDB_CREATE, &texts_);
  if (rc == 0) rc = mdb_dbi_open(txn, "ids", MDB_CREATE, &ids_);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("mdb_dbi_open", rc);
  }
  if (rc = mdb_txn_commit(txn); rc != 0) return lmdb_error("mdb_txn_commit", rc);
  return {};
}

runtime::Result<Outcome> FingerprintStore::check_and_record(const std::string& id, const std::string& fingerprint) {
  if (env_ == nullptr) return runtime::Status::error("the fingerprint store is not open");
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0) return lmdb_error("mdb_txn_begin", rc);
  Outcome outcome;
  MDB_val id_key = as_val(id), fp_key = as_val(fingerprint), found{};
  int rc = mdb_get(txn, ids_, &id_key, &found);
  if (rc == 0) {
    // Copy before the transaction ends: LMDB's data is only valid inside it.
    const std::string previous(static_cast<const char*>(found.mv_data), found.mv_size);
    outcome.decision = previous == fingerprint ? Decision::Replay : Decision::Update;
  } else if (rc == MDB_NOTFOUND) {
    rc = mdb_get(txn, texts_, &fp_key, &found);
    if (rc == 0) {
      outcome.decision = Decision::Duplicate;
      outcome.of.assign(static_cast<const char*>(found.mv_data), found.mv_size);
    } else if (rc != MDB_NOTFOUND) {
      mdb_txn_abort(txn);
      return lmdb_error("mdb_get", rc);
    }
  } else {
    mdb_txn_abort(txn);
    return lmdb_error("mdb_get", rc);
  }
  rc = 0;
  if (outcome.decision == Decision::Unique || outcome.decision == Decision::Update) {
    MDB_val id_val = as_val(id), fp_val = as_val(fingerprint);
    rc = mdb_put(txn, ids_, &id_key, &fp_val, 0);
    if (rc == 0) rc = mdb_put(txn, texts_, &fp_key, &id_val, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) rc = 0;  // an update whose new text another id already had
  }
  if (rc != 0) {
    mdb_txn_abort(txn);
    return lmdb_error("mdb_put", rc);
  }
  if (rc = mdb_txn_commit(txn); rc != 0) return lmdb_error("mdb_txn_commit", rc);
  return outcome;
}

runtime::Status FingerprintStore::sync() {
  if (env_ == nullptr) return {};
  if (int rc = mdb_env_sync(env_, 1); rc != 0) return lmdb_error("mdb_env_sync", rc);
  return {};
}

}  // namespace vnawire::dedupe
