// The SQLite sink: one row per document id, upserted, committed in batches at each flush (WAL mode).
#include <sqlite3.h>

#include <chrono>
#include <ctime>

#include "stages/sink/sink_stages.h"
#include "stages/runtime/record.h"

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
)sql";

// A JSON value at a path, as text for a column; null when absent or not a string.
const std::string* text_at(const nlohmann::json& record, std::initializer_list<const char*> path) {
  const nlohmann::json* node = &record;
  for (const char* key : path) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node->is_string() ? &node->get_ref<const std::string&>() : nullptr;
}

bool transient(int rc) { return rc == SQLITE_BUSY || rc == SQLITE_LOCKED; }

class SqliteSink final : public runtime::Stage {
 public:
  explicit SqliteSink(const runtime::StageContext& context) : context_(context) {}
  ~SqliteSink() override {
    if (upsert_ != nullptr) sqlite3_finalize(upsert_);
    if (db_ != nullptr) sqlite3_close(db_);
  }

  runtime::Status start() override {
    path_ = context_.resolve(context_.options->get_string("path"));
    batch_limit_ = static_cast<int>(context_.options->get_int("batch"));
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      return runtime::Status::error("cannot open " + path_.string() + ": " + sqlite3_errmsg(db_));
    }
    sqlite3_busy_timeout(db_, static_cast<int>(context_.options->get_int("busy_timeout_ms")));
    for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSqliteSchema}) {
      if (auto done = exec(sql); !done) return done;
    }
    if (sqlite3_prepare_v3(db_, kUpsert, -1, SQLITE_PREPARE_PERSISTENT, &upsert_, nullptr) != SQLITE_OK) {
      return runtime::Status::error(std::string("cannot prepare the upsert: ") + sqlite3_errmsg(db_));
    }
    return {};
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    if (!in_transaction_) {
      int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      if (transient(rc)) return runtime::Verdict::retry(std::string("database busy: ") + sqlite3_errmsg(db_));
      if (rc != SQLITE_OK) return runtime::Verdict::retry(std::string("BEGIN failed: ") + sqlite3_errmsg(db_));
      in_transaction_ = true;
    }
    const auto& record = document.record;
    const std::string json = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string now = runtime::iso_now_utc();
    sqlite3_reset(upsert_);
    sqlite3_clear_bindings(upsert_);
    auto bind = [&](int index, const std::string* value) {
      if (value == nullptr) {
        sqlite3_bind_null(upsert_, index);
      } else {
        sqlite3_bind_text(upsert_, index, value->data(), static_cast<int>(value->size()), SQLITE_STATIC);
      }
    };
    bind(1, &document.header.id);
    bind(2, text_at(record, {"url"}));
    bind(3, text_at(record, {"lang", "code"}));
    bind(4, text_at(record, {"article", "title"}));
    bind(5, text_at(record, {"article", "published"}));
    bind(6, text_at(record, {"article", "dateline", "place"}));
    bind(7, text_at(record, {"article", "dateline", "date"}));
    bind(8, &json);
    bind(9, &now);
    const int rc = sqlite3_step(upsert_);
    sqlite3_reset(upsert_);
    if (rc != SQLITE_DONE) {
      const std::string why = sqlite3_errmsg(db_);
      if (transient(rc)) return runtime::Verdict::retry("database busy: " + why);
      return runtime::Verdict::dead_letter("cannot store the record: " + why);
    }
    context_.counters->add("stored");
    if (++batched_ >= batch_limit_) {
      if (auto committed = commit(); !committed) return runtime::Verdict::retry(committed.message());
    }
    return runtime::Verdict::forward();
  }

  runtime::Status flush() override { return commit(); }

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

  runtime::Status commit() {
    if (!in_transaction_) return {};
    if (auto done = exec("COMMIT"); !done) return done;
    in_transaction_ = false;
    batched_ = 0;
    return {};
  }

  const runtime::StageContext& context_;
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  bool in_transaction_ = false;
  int batched_ = 0;
  int batch_limit_ = 500;
};

}  // namespace

const runtime::StageDescriptor& sqlite_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "sink_sqlite",
      "Sink: upserts one row per document id into SQLite (table documents, the whole record as JSON).",
      runtime::StageRole::Sink,
      8,
      {
          OptionSpec{"path", OptionType::String, std::string("vnawire.db"),
                     "The database file (relative paths are under state_dir)."},
          OptionSpec{"batch", OptionType::Int, std::int64_t{500},
                     "Records per transaction at most; a transaction is also committed at each flush.", false, 1.0,
                     100000.0},
          OptionSpec{"busy_timeout_ms", OptionType::Int, std::int64_t{5000},
                     "How long to wait for a lock held by another writer before retrying.", false, 0.0, 600000.0},
      },
      [](const runtime::StageContext& context) { return std::make_unique<SqliteSink>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::sink
