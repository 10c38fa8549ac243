// The fetcher's memory across restarts (SQLite under the stage's folder): every item seen, with what was
// emitted of it, and the validators and poll times of feeds, sitemaps and robots.txt files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stages/runtime/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vnawire::fetch {

enum class ItemStatus { Pending = 0, Emitted = 1, Failed = 2 };

// One article URL (or WARC record, or file) the fetcher has met.
struct Item {
  std::string id;   // the document id, from the canonical URL
  std::string url;  // canonical URL
  std::string source;
  std::string first_seen;  // ISO 8601 UTC
  ItemStatus status = ItemStatus::Pending;
  std::string title;      // as listed by the feed or sitemap
  std::string published;  // as listed
  std::string guid;
  std::string listed_date;  // the newest date a listing gave for it (updated, lastmod): a newer one means re-check
  std::string etag;
  std::string last_modified;
  std::string content_hash;  // of the emitted body
  std::int64_t version = 0;  // 1 for the first emission, +1 per changed emission
  std::string last_error;
};

// A polled resource (feed, sitemap, home page, robots.txt): its HTTP validators.
struct Resource {
  std::string url;
  std::string etag;
  std::string last_modified;
  std::string last_poll;  // ISO 8601 UTC
};

class FetchState {
 public:
  FetchState() = default;
  ~FetchState();
  FetchState(const FetchState&) = delete;
  FetchState& operator=(const FetchState&) = delete;

  // Opens (or creates) the state; a damaged file is moved to <file>.damaged and a new one started, which
  // set_aside() then describes.
  runtime::Status open(const std::filesystem::path& file);
  const std::string& set_aside() const { return set_aside_; }

  std::optional<Item> find(const std::string& id);
  // Inserts a new pending item, or updates listing fields of a known one (`known`: the caller's find()
  // already said which). Part of the open transaction.
  runtime::Status put(const Item& item, bool known);
  runtime::Status mark_emitted(const std::string& id, std::int64_t version, const std::string& content_hash,
                               const std::string& etag, const std::string& last_modified);
  runtime::Status mark_failed(const std::string& id, const std::string& error);
  // Items seen but not emitted yet (after a restart: to be fetched again), oldest first.
  std::vector<Item> pending(std::size_t limit);
  std::uint64_t count(ItemStatus status);

  std::optional<Resource> resource(const std::string& url);
  runtime::Status put_resource(const Resource& resource);

  // Commits what was written since the last commit (WAL, synchronous=NORMAL: survives a killed process).
  runtime::Status commit();

 private:
  runtime::Status open_file(const std::filesystem::path& file);
  void close();
  runtime::Status begin_if_needed();
  runtime::Status exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  runtime::Status step_done(sqlite3_stmt* statement, const char* what);

  sqlite3* db_ = nullptr;
  std::string set_aside_;
  bool in_transaction_ = false;
  sqlite3_stmt* find_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* update_listing_ = nullptr;
  sqlite3_stmt* emitted_ = nullptr;
  sqlite3_stmt* failed_ = nullptr;
  sqlite3_stmt* pending_ = nullptr;
  sqlite3_stmt* count_ = nullptr;
  sqlite3_stmt* get_resource_ = nullptr;
  sqlite3_stmt* put_resource_ = nullptr;
};

}  // namespace vnawire::fetch
