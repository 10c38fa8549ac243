// The SQLite sink: one row per document id, upserted, with its persons, organisations, places, events,
// quotes, countries and full text in the normalised tables (sink_sqlite_tables.h); committed in batches
// at each flush (WAL mode).
#include <sqlite3.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "stages/runtime/json_parse.h"
#include "stages/sink/sink_normalised.h"
#include "stages/sink/sink_sqlite_tables.h"
#include "stages/sink/sink_stages.h"

namespace vnawire::sink {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;

constexpr const char* kUpsert = R"sql(
INSERT INTO documents (id, url, lang, title, published, dateline_place, dateline_date, record, version,
                       first_stored_at, stored_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9)
ON CONFLICT(id) DO UPDATE SET
  url = excluded.url, lang = excluded.lang, title = excluded.title, published = excluded.published,
  dateline_place = excluded.dateline_place, dateline_date = excluded.dateline_date,
  version = documents.version + (documents.record IS NOT excluded.record),
  record = excluded.record, stored_at = excluded.stored_at
RETURNING rowid
)sql";

bool transient(int rc) { return rc == SQLITE_BUSY || rc == SQLITE_LOCKED; }

using Clock = std::chrono::steady_clock;
// A commit costs about as much as a few dozen rows (FTS5 writes a segment, the WAL a frame per page): a
// stream of documents committed at every pause between them, about fifty at a time, cost 215 us of CPU per
// document against 157 in transactions of 500 (bench/stage_bench.cc BM_Sink, changed by hand to flush every
// 55 documents instead of every 1,000). So while documents come in faster than one per kBusyGap on average,
// a pause does not commit a transaction younger than kMaxHold; the next pause after that, the batch limit or
// the flush timer (flush_interval_ms) commits it. holding() tells the runner not to report (and so commit) the
// held work at the pause, and to call on_idle() again while the input stays empty: a stream that stops leaves
// its last transaction open until it is kMaxHold old.
// A slower stream commits at each pause as before, so a document is visible as soon as it is stored.
constexpr std::chrono::microseconds kBusyGap{2500};  // 400 documents/s
constexpr std::chrono::milliseconds kMaxHold{100};

class SqliteSink final : public runtime::Stage {
 public:
  explicit SqliteSink(const runtime::StageContext& context) : context_(context) {}
  ~SqliteSink() override {
    if (upsert_ != nullptr) sqlite3_finalize(upsert_);
    for (sqlite3_stmt* statement : {savepoint_, release_, roll_back_to_}) sqlite3_finalize(statement);
    tables_.finalize();  // before the close: a connection with statements left does not close
    if (db_ != nullptr) sqlite3_close(db_);
  }

  runtime::Status start() override {
    path_ = context_.resolve(context_.options->get_string("path"));
    batch_limit_ = static_cast<std::size_t>(context_.options->get_int("batch"));
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      return runtime::Status::error("cannot open " + path_.string() + ": " + sqlite3_errmsg(db_));
    }
    sqlite3_busy_timeout(db_, static_cast<int>(context_.options->get_int("busy_timeout_ms")));
    // secure_delete=FAST: deleted content is still overwritten where that costs no write, but pages that
    // become free (a replaced record's overflow pages, FTS5's merged segments) are no longer written out
    // as zeros, as Debian's SQLite does by default (SECURE_DELETE): 13% of the sink's writes on BM_Sink.
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA secure_delete=FAST"}) {
      if (auto done = exec(sql); !done) return done;
    }
    if (auto migrated = migrate_sqlite(db_); !migrated.ok()) {
      return runtime::Status::error(path_.string() + ": " + migrated.message());
    }
    // What each document's savepoint can undo (the earlier content of the pages it changes: tens of pages,
    // given back at its RELEASE) stays in memory. By default SQLite moves it to a temporary file past 64 KB
    // and keeps writing there for the rest of the transaction: a write system call per page, more than the
    // WAL's, and a tenth of the sink's CPU in the pipeline benchmark. Only after the migration, which does
    // not need it: with secure_delete=ON, dropping a version-2 index wrote every page it freed as zeros and
    // journaled each, in memory as large as that index (secure_delete=FAST, above, writes none of them).
    if (auto done = exec("PRAGMA temp_store=MEMORY"); !done) return done;
    if (auto prepared = tables_.prepare(db_); !prepared.ok()) return prepared;
    if (sqlite3_prepare_v3(db_, kUpsert, -1, SQLITE_PREPARE_PERSISTENT, &upsert_, nullptr) != SQLITE_OK) {
      return runtime::Status::error(std::string("cannot prepare the upsert: ") + sqlite3_errmsg(db_));
    }
    for (const auto& [sql, statement] :
         {std::pair{"SAVEPOINT document", &savepoint_}, std::pair{"RELEASE document", &release_},
          std::pair{"ROLLBACK TO document", &roll_back_to_}}) {
      if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, statement, nullptr) != SQLITE_OK) {
        return runtime::Status::error(std::string("cannot prepare \"") + sql + "\": " + sqlite3_errmsg(db_));
      }
    }
    return {};
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    const Clock::time_point now = Clock::now();
    if (last_arrival_ != Clock::time_point{}) {
      // The mean gap between documents, over about the last eight.
      const auto gap = std::chrono::duration_cast<std::chrono::microseconds>(now - last_arrival_);
      mean_gap_ += (std::min(gap, std::chrono::microseconds(kMaxHold)) - mean_gap_) / 8;
    }
    last_arrival_ = now;
    if (auto opened = open_transaction(); !opened) return runtime::Verdict::retry(opened.message());
    DocumentRow row = document_row(document);
    // A document is written whole or not at all: a failure half-way (one of its rows refused) undoes
    // what it wrote, in the tables and in what waits for the full-text index, and the rest of the
    // transaction stands.
    const NormalisedWriter::Mark mark = tables_.mark();
    int rc = step(savepoint_);
    if (rc == SQLITE_DONE) rc = upsert(row, &document.record);
    if (rc == SQLITE_DONE) rc = step(release_);
    if (rc != SQLITE_DONE) {
      const std::string why = sqlite3_errmsg(db_);
      if (sqlite3_get_autocommit(db_) != 0) {
        // SQLite rolled the whole transaction back (some errors do: a full disk, I/O): its rows go in again.
        in_transaction_ = false;
        tables_.discard_text();
      } else {
        (void)step(roll_back_to_);
        (void)step(release_);
        tables_.back_to(mark);
      }
      if (transient(rc)) return runtime::Verdict::retry("database busy: " + why);
      return runtime::Verdict::dead_letter("cannot store the record: " + why);
    }
    batch_.push_back(std::move(row));
    context_.counters->add("stored");
    if (batch_.size() >= batch_limit_) {
      // The record is kept with its batch and written again by the next transaction: not a retry.
      if (auto committed = commit(); !committed) context_.log->error("{}", committed.message());
    }
    return runtime::Verdict::forward();
  }

  runtime::Status flush() override {
    if (!in_transaction_ && batch_.empty()) return {};
    if (auto opened = open_transaction(); !opened) return opened;
    return commit();
  }

  // Another replica or writer may be waiting for the lock: never hold it long while there is nothing to
  // write (a busy stream's transaction for at most kMaxHold, above).
  runtime::Status on_idle() override {
    held_ = in_transaction_ && mean_gap_ < kBusyGap && Clock::now() - opened_at_ < kMaxHold;
    return held_ ? runtime::Status{} : flush();
  }
  bool holding() const override { return held_ && in_transaction_; }

 private:
  runtime::Status exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = message != nullptr ? message : "unknown error";
      sqlite3_free(message);
      return runtime::Status::error("SQLite error on " + path_.string() + ": " + why);
    }
    return {};
  }

  // The documents row, then the normalised rows from `record` (parsed from the row when null).
  int upsert(const DocumentRow& row, const nlohmann::json* record) {
    sqlite3_reset(upsert_);
    sqlite3_clear_bindings(upsert_);
    // SQLITE_STATIC: the row outlives the statement's step.
    auto bind = [&](int index, const std::string& value) {
      sqlite3_bind_text(upsert_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    };
    auto bind_or_null = [&](int index, const std::optional<std::string>& value) {
      if (value) {
        bind(index, *value);
      } else {
        sqlite3_bind_null(upsert_, index);
      }
    };
    bind(1, row.id);
    bind_or_null(2, row.url);
    bind_or_null(3, row.lang);
    bind_or_null(4, row.title);
    bind_or_null(5, row.published);
    bind_or_null(6, row.dateline_place);
    bind_or_null(7, row.dateline_date);
    bind(8, row.record);
    bind(9, row.stored_at);
    bool stored = true;
    if (const int read = tables_.before_replacing(row.id, &stored); read != SQLITE_DONE) return read;
    int rc = sqlite3_step(upsert_);
    const sqlite3_int64 rowid = rc == SQLITE_ROW ? sqlite3_column_int64(upsert_, 0) : 0;
    if (rc == SQLITE_ROW) rc = sqlite3_step(upsert_);
    sqlite3_reset(upsert_);
    if (rc != SQLITE_DONE) return rc;
    if (record != nullptr) return tables_.write(row.id, rowid, *record, stored);
    return tables_.write(row.id, rowid, runtime::parse_json(row.record), stored);
  }

  // Steps a statement that returns no row: SQLITE_DONE, or the error's code.
  static int step(sqlite3_stmt* statement) {
    const int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    return rc;
  }

  // Begins a transaction unless one is open; the rows of a batch whose COMMIT failed go in first.
  runtime::Status open_transaction() {
    if (in_transaction_) return {};
    const int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return runtime::Status::error((transient(rc) ? "database busy: " : "BEGIN failed: ") +
                                    std::string(sqlite3_errmsg(db_)));
    }
    in_transaction_ = true;
    opened_at_ = Clock::now();
    for (const DocumentRow& row : batch_) {
      if (upsert(row, nullptr) != SQLITE_DONE) {
        const std::string why = sqlite3_errmsg(db_);
        roll_back();
        return runtime::Status::error("cannot write again the " + std::to_string(batch_.size()) +
                                      " record(s) of a failed commit: " + why);
      }
    }
    return {};
  }

  runtime::Status commit() {
    if (!in_transaction_) return {};
    if (tables_.write_text() == SQLITE_DONE && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK) {
      in_transaction_ = false;
      held_ = false;
      batch_.clear();
      return {};
    }
    const std::string why = sqlite3_errmsg(db_);
    roll_back();
    return runtime::Status::error("COMMIT failed on " + path_.string() + ": " + why + "; its " +
                                  std::to_string(batch_.size()) + " record(s) go in again with the next transaction");
  }

  // After a failed COMMIT SQLite may or may not have rolled back already (sqlite3_get_autocommit says
  // which): either way the transaction ends here, so the next one starts clean.
  void roll_back() {
    if (sqlite3_get_autocommit(db_) == 0) (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    tables_.discard_text();  // written again with the batch
    in_transaction_ = false;
  }

  const runtime::StageContext& context_;
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* savepoint_ = nullptr;  // around each document's writes
  sqlite3_stmt* release_ = nullptr;
  sqlite3_stmt* roll_back_to_ = nullptr;
  NormalisedWriter tables_;
  bool in_transaction_ = false;
  std::vector<DocumentRow> batch_;  // the rows of the open transaction, or of the last one that failed to commit
  std::size_t batch_limit_ = 500;
  Clock::time_point opened_at_;                   // when the open transaction began
  Clock::time_point last_arrival_;                // when the last document came
  std::chrono::microseconds mean_gap_{kMaxHold};  // between documents, lately
  bool held_ = false;                             // on_idle() left the open transaction open
};

}  // namespace

const runtime::StageDescriptor& sqlite_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "sink_sqlite",
      "Sink: upserts one row per document id into SQLite (table documents, the whole record as JSON), with its "
      "persons, organisations, places, events and participants, quotes, countries and an FTS5 full-text index "
      "(docs/sinks.md).",
      runtime::StageRole::Sink,
      8,
      {
          OptionSpec{"path", OptionType::String, std::string("vnawire.db"),
                     "The database file (relative paths are under state_dir)."},
          OptionSpec{"batch", OptionType::Int, std::int64_t{500},
                     "Records per transaction at most; a transaction is also committed at each flush and when the "
                     "input pauses (in a stream of over 400 documents/s, only once it is 100 ms old).",
                     false, 1.0, 100000.0},
          OptionSpec{"busy_timeout_ms", OptionType::Int, std::int64_t{5000},
                     "How long to wait for a lock held by another writer before retrying; must be below "
                     "pipeline.stage_timeout_ms, since a replica waiting sends no heartbeat.",
                     false, 0.0, 600000.0},
      },
      [](const runtime::StageContext& context) { return std::make_unique<SqliteSink>(context); },
      [](const runtime::Options& options, const runtime::Options& pipeline) {
        const auto busy = options.get_int("busy_timeout_ms");
        return below_stage_timeout("busy_timeout_ms", std::to_string(busy), busy, pipeline,
                                   "waiting that long on a lock");
      },
  };
  return descriptor;
}

}  // namespace vnawire::sink
