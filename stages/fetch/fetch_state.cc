// SQLite in WAL mode with prepared statements; writes gather in one transaction until commit().
#include "stages/fetch/fetch_state.h"

#include <sqlite3.h>

#include "stages/runtime/record.h"

namespace vnawire::fetch {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA busy_timeout = 5000;
CREATE TABLE IF NOT EXISTS items (
  id            TEXT PRIMARY KEY,
  url           TEXT NOT NULL,
  source        TEXT NOT NULL,
  first_seen    TEXT NOT NULL,
  status        INTEGER NOT NULL,
  title         TEXT NOT NULL DEFAULT '',
  published     TEXT NOT NULL DEFAULT '',
  guid          TEXT NOT NULL DEFAULT '',
  listed_date   TEXT NOT NULL DEFAULT '',
  etag          TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  content_hash  TEXT NOT NULL DEFAULT '',
  version       INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT NOT NULL DEFAULT '',
  emitted_at    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_pending ON items (status, first_seen) WHERE status = 0;
CREATE TABLE IF NOT EXISTS resources (
  url           TEXT PRIMARY KEY,
  etag          TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  last_poll     TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
)sql";

std::string column_text(sqlite3_stmt* statement, int column) {
  const auto* text = sqlite3_column_text(statement, column);
  return text ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

// Not named bind(): with a std::string argument, argument-dependent lookup would prefer std::bind.
void bind_text(sqlite3_stmt* statement, int index, const std::string& value) {
  sqlite3_bind_text(statement, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
}

Item read_item(sqlite3_stmt* statement) {
  Item item;
  item.id = column_text(statement, 0);
  item.url = column_text(statement, 1);
  item.source = column_text(statement, 2);
  item.first_seen = column_text(statement, 3);
  item.status = static_cast<ItemStatus>(sqlite3_column_int(statement, 4));
  item.title = column_text(statement, 5);
  item.published = column_text(statement, 6);
  item.guid = column_text(statement, 7);
  item.listed_date = column_text(statement, 8);
  item.etag = column_text(statement, 9);
  item.last_modified = column_text(statement, 10);
  item.content_hash = column_text(statement, 11);
  item.version = sqlite3_column_int64(statement, 12);
  item.last_error = column_text(statement, 13);
  return item;
}

constexpr const char* kItemColumns =
    "id, url, source, first_seen, status, title, published, guid, listed_date, etag, last_modified, "
    "content_hash, version, last_error";

}  // namespace

FetchState::~FetchState() { close(); }

void FetchState::close() {
  if (db_ == nullptr) return;
  if (in_transaction_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  in_transaction_ = false;
  for (sqlite3_stmt** statement :
       {&find_, &insert_, &update_listing_, &emitted_, &failed_, &pending_, &count_, &get_resource_, &put_resource_}) {
    sqlite3_finalize(*statement);
    *statement = nullptr;
  }
  sqlite3_close(db_);
  db_ = nullptr;
}

runtime::Status FetchState::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return runtime::Status::error("fetch state: " + text);
  }
  return {};
}

sqlite3_stmt* FetchState::prepare(const char* sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK) return nullptr;
  return statement;
}

// A damaged file (a flipped bit, a truncation: SQLite says "malformed" or "not a database", or its quick
// check fails) is moved aside with its journal files and a new one started, so that the stage starts: every
// item is then met as new and fetched again, and dedupe recognises what was passed on before.
runtime::Status FetchState::open(const std::filesystem::path& file) {
  runtime::Status opened = open_file(file);
  const int code = db_ != nullptr ? sqlite3_errcode(db_) : SQLITE_OK;
  bool damaged = !opened.ok() && (code == SQLITE_CORRUPT || code == SQLITE_NOTADB);
  if (opened.ok()) {
    sqlite3_stmt* check = prepare("PRAGMA quick_check");
    const bool whole = check != nullptr && sqlite3_step(check) == SQLITE_ROW &&
                       std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(check, 0))) == "ok";
    sqlite3_finalize(check);
    if (!whole) {
      damaged = true;
      opened = runtime::Status::error("its integrity check failed");
    }
  }
  if (!damaged) return opened;
  close();
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::path from = file, to = file;
    from += suffix;
    to += std::string(suffix) + ".damaged";
    if (std::filesystem::exists(from, ec)) std::filesystem::rename(from, to, ec);
  }
  set_aside_ = "the fetch state " + file.string() + " is damaged (" + opened.message() + "): moved to " +
               file.string() + ".damaged; every item is fetched again, and dedupe passes copies of what was sent";
  return open_file(file);
}

runtime::Status FetchState::open_file(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    return runtime::Status::error("cannot open the fetch state " + file.string() + ": " + sqlite3_errmsg(db_));
  }
  if (auto status = exec(kSchema); !status) {
    return runtime::Status::error(status.message() + " (" + file.string() + ")");
  }
  const std::string select = std::string("SELECT ") + kItemColumns;
  find_ = prepare((select + " FROM items WHERE id = ?1").c_str());
  insert_ = prepare(
      "INSERT INTO items (id, url, source, first_seen, status, title, published, guid, listed_date) "
      "VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8)");
  update_listing_ = prepare(
      "UPDATE items SET title = CASE WHEN ?2 <> '' THEN ?2 ELSE title END, "
      "published = CASE WHEN ?3 <> '' THEN ?3 ELSE published END, "
      "listed_date = CASE WHEN ?4 > listed_date THEN ?4 ELSE listed_date END WHERE id = ?1");
  emitted_ = prepare(
      "UPDATE items SET status = 1, version = ?2, content_hash = ?3, etag = ?4, last_modified = ?5, "
      "emitted_at = ?6, last_error = '' WHERE id = ?1");
  failed_ = prepare(
      "UPDATE items SET status = CASE WHEN status = 0 THEN 2 ELSE status END, last_error = ?2 "
      "WHERE id = ?1");
  pending_ = prepare((select + " FROM items WHERE status = 0 ORDER BY first_seen LIMIT ?1").c_str());
  count_ = prepare("SELECT count(*) FROM items WHERE status = ?1");
  get_resource_ = prepare("SELECT url, etag, last_modified, last_poll FROM resources WHERE url = ?1");
  put_resource_ = prepare(
      "INSERT INTO resources (url, etag, last_modified, last_poll) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
      "last_poll = excluded.last_poll");
  for (sqlite3_stmt* statement :
       {find_, insert_, update_listing_, emitted_, failed_, pending_, count_, get_resource_, put_resource_}) {
    if (statement == nullptr) return runtime::Status::error(std::string("fetch state: ") + sqlite3_errmsg(db_));
  }
  return {};
}

runtime::Status FetchState::begin_if_needed() {
  if (in_transaction_) return {};
  if (auto status = exec("BEGIN IMMEDIATE"); !status) return status;
  in_transaction_ = true;
  return {};
}

runtime::Status FetchState::step_done(sqlite3_stmt* statement, const char* what) {
  const int code = sqlite3_step(statement);
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  if (code != SQLITE_DONE) {
    return runtime::Status::error(std::string("fetch state: ") + what + ": " + sqlite3_errmsg(db_));
  }
  return {};
}

std::optional<Item> FetchState::find(const std::string& id) {
  bind_text(find_, 1, id);
  std::optional<Item> item;
  if (sqlite3_step(find_) == SQLITE_ROW) item = read_item(find_);
  sqlite3_reset(find_);
  sqlite3_clear_bindings(find_);
  return item;
}

runtime::Status FetchState::put(const Item& item, bool known) {
  if (auto status = begin_if_needed(); !status) return status;
  if (known) {
    bind_text(update_listing_, 1, item.id);
    bind_text(update_listing_, 2, item.title);
    bind_text(update_listing_, 3, item.published);
    bind_text(update_listing_, 4, item.listed_date);
    return step_done(update_listing_, "update item");
  }
  bind_text(insert_, 1, item.id);
  bind_text(insert_, 2, item.url);
  bind_text(insert_, 3, item.source);
  bind_text(insert_, 4, item.first_seen.empty() ? runtime::iso_now_utc() : item.first_seen);
  bind_text(insert_, 5, item.title);
  bind_text(insert_, 6, item.published);
  bind_text(insert_, 7, item.guid);
  bind_text(insert_, 8, item.listed_date);
  return step_done(insert_, "insert item");
}

runtime::Status FetchState::mark_emitted(const std::string& id, std::int64_t version, const std::string& content_hash,
                                         const std::string& etag, const std::string& last_modified) {
  if (auto status = begin_if_needed(); !status) return status;
  bind_text(emitted_, 1, id);
  sqlite3_bind_int64(emitted_, 2, version);
  bind_text(emitted_, 3, content_hash);
  bind_text(emitted_, 4, etag);
  bind_text(emitted_, 5, last_modified);
  bind_text(emitted_, 6, runtime::iso_now_utc());
  return step_done(emitted_, "mark emitted");
}

runtime::Status FetchState::mark_failed(const std::string& id, const std::string& error) {
  if (auto status = begin_if_needed(); !status) return status;
  bind_text(failed_, 1, id);
  bind_text(failed_, 2, error);
  return step_done(failed_, "mark failed");
}

std::vector<Item> FetchState::pending(std::size_t limit) {
  std::vector<Item> items;
  sqlite3_bind_int64(pending_, 1, static_cast<sqlite3_int64>(limit));
  while (sqlite3_step(pending_) == SQLITE_ROW) items.push_back(read_item(pending_));
  sqlite3_reset(pending_);
  sqlite3_clear_bindings(pending_);
  return items;
}

std::uint64_t FetchState::count(ItemStatus status) {
  sqlite3_bind_int(count_, 1, static_cast<int>(status));
  std::uint64_t n = 0;
  if (sqlite3_step(count_) == SQLITE_ROW) n = static_cast<std::uint64_t>(sqlite3_column_int64(count_, 0));
  sqlite3_reset(count_);
  return n;
}

std::optional<Resource> FetchState::resource(const std::string& url) {
  bind_text(get_resource_, 1, url);
  std::optional<Resource> resource;
  if (sqlite3_step(get_resource_) == SQLITE_ROW) {
    resource = Resource{column_text(get_resource_, 0), column_text(get_resource_, 1), column_text(get_resource_, 2),
                        column_text(get_resource_, 3)};
  }
  sqlite3_reset(get_resource_);
  sqlite3_clear_bindings(get_resource_);
  return resource;
}

runtime::Status FetchState::put_resource(const Resource& resource) {
  if (auto status = begin_if_needed(); !status) return status;
  bind_text(put_resource_, 1, resource.url);
  bind_text(put_resource_, 2, resource.etag);
  bind_text(put_resource_, 3, resource.last_modified);
  bind_text(put_resource_, 4, resource.last_poll.empty() ? runtime::iso_now_utc() : resource.last_poll);
  return step_done(put_resource_, "save resource");
}

runtime::Status FetchState::commit() {
  if (!in_transaction_) return {};
  if (auto status = exec("COMMIT"); !status) {
    if (sqlite3_get_autocommit(db_)) in_transaction_ = false;  // SQLite rolled back on its own
    return status;
  }
  in_transaction_ = false;
  return {};
}

}  // namespace vnawire::fetch
