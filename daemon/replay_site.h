// The replay server's site without any networking: the folder catalogue, the pages it renders, the fault book
// and the routing of one request to one reply. replay_server.cc only moves these replies over Beast.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/replay_server.h"

namespace vnawire::replay {

using Clock = std::chrono::system_clock;

// One file as it was last read: immutable once built, shared by every reply that serves it.
struct Article {
  std::string name;  // file name, also the last URL segment (percent-encoded in links)
  std::filesystem::path path;
  std::shared_ptr<const std::string> body;
  std::string mime;            // text/plain or text/html
  bool utf8 = true;            // the bytes are valid UTF-8 (then charset=utf-8 is declared)
  std::string title;           // UTF-8 text, XML-safe once escaped
  std::string etag;            // "\"<XXH3 hex>\""
  Clock::time_point modified;  // the file's mtime
  std::uintmax_t size = 0;
  // The gzip form, made on first demand.
  std::shared_ptr<const std::string> gzipped() const;

 private:
  mutable std::once_flag gzip_once_;
  mutable std::shared_ptr<const std::string> gzip_;
};

struct ReleasedArticle {
  std::shared_ptr<const Article> article;
  Clock::time_point released_at;
};

// The folder: files in name order, each pending until released. Thread-safe.
class Catalogue {
 public:
  Catalogue(std::filesystem::path directory, bool release_on_discovery);
  // Picks up new, changed and removed files. An error when the folder cannot be read.
  runtime::Status rescan();
  bool release_next();
  std::size_t released() const;
  std::size_t pending() const;
  std::vector<ReleasedArticle> newest_first() const;
  // A released article by file name, re-read first when the file changed; null when unknown or pending.
  std::shared_ptr<const Article> released_article(const std::string& name);

 private:
  struct Entry {
    std::shared_ptr<const Article> article;
    bool released = false;
    Clock::time_point released_at;
    std::uint64_t sequence = 0;  // release order, for "newest first" among equal times
  };
  void release(Entry& entry);
  std::filesystem::path directory_;
  bool release_on_discovery_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::uint64_t next_sequence_ = 1;
};

// Reads one file into an Article; null when it cannot be read.
std::shared_ptr<const Article> load_article(const std::filesystem::path& path, Clock::time_point modified,
                                            std::uintmax_t size);

// Text helpers shared by the catalogue, the renderer and the router.
// Bytes that are not UTF-8 are read as ISO-8859-1, the usual legacy encoding of such dispatches.
std::string latin1_to_utf8(std::string_view bytes);
std::string xml_escape(std::string_view text);      // also drops the control characters XML forbids
std::string percent_encode(std::string_view text);  // everything but unreserved characters
std::optional<std::string> percent_decode(std::string_view text);
std::string http_date(Clock::time_point time);  // IMF-fixdate, "Tue, 01 Dec 2026 18:32:34 GMT"
std::string iso_date(Clock::time_point time);   // "2026-12-01T18:32:34Z"
std::optional<Clock::time_point> parse_http_date(std::string_view text);
std::string title_of(std::string_view body, bool html, bool utf8, const std::string& fallback);
std::string gzip(std::string_view data);
std::string gzip_zeros(std::uint64_t bytes);  // a gzip stream of that many zero bytes
std::string etag_of(std::string_view data);

// The pages. `base` is "http://HOST:PORT" as the client addressed the server.
struct SiteInfo {
  std::string base;
  std::string title;
};
std::string render_home(const SiteInfo& site, const std::vector<ReleasedArticle>& articles);
std::string render_rss(const SiteInfo& site, const std::vector<ReleasedArticle>& articles);
std::string render_atom(const SiteInfo& site, const std::vector<ReleasedArticle>& articles);
std::string render_sitemap_index(const SiteInfo& site, const std::vector<ReleasedArticle>& articles);
std::string render_news_sitemap(const SiteInfo& site, const std::vector<ReleasedArticle>& articles);
std::string render_plain_sitemap(const SiteInfo& site, const std::vector<ReleasedArticle>& articles);
std::string render_robots(const SiteInfo& site, const std::vector<std::string>& disallow, double crawl_delay);

// What the faults do to one request: the summed delays, then at most one other fault.
struct FaultPlan {
  std::chrono::milliseconds delay{0};
  std::optional<Fault> effect;
};

// The configured faults and how many requests each has taken. Thread-safe.
class FaultBook {
 public:
  explicit FaultBook(std::vector<Fault> faults);
  FaultPlan take(std::string_view path);

 private:
  std::vector<Fault> faults_;
  std::mutex mutex_;
  std::vector<std::int64_t> used_;
  std::vector<std::chrono::steady_clock::time_point> first_;  // each fault's first matching request
};

struct Request {
  std::string method;
  std::string target;  // path and query as sent
  std::string host;
  std::string if_none_match;
  std::string if_modified_since;
  std::string accept_encoding;
  // POST /inbox only (a webhook receiver for sink tests):
  std::string content_type;
  std::string authorization;
  std::string body;
  std::string idempotency_key;
};

struct Reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<const std::string> body;  // never null once answered
  bool head_only = false;                   // HEAD: the headers of the full reply, no body
  bool truncate = false;                    // announce the whole body, send half of it, close
};

// A short text/plain reply: errors and injected statuses.
Reply plain_reply(unsigned status, std::string text);

// Splits "HOST:PORT" ("[::1]:PORT" for IPv6; "localhost" means 127.0.0.1).
runtime::Result<std::pair<std::string, int>> parse_listen(const std::string& listen);

// Routes requests to pages and articles, applies the faults, keeps the request counters. Thread-safe.
class Site {
 public:
  explicit Site(const ReplaySettings& settings);
  Catalogue& catalogue() { return catalogue_; }
  void set_base_url(std::string base_url) { base_url_ = std::move(base_url); }

  // Counts the request and consumes the faults it meets; call once per request, before any delay.
  FaultPlan admit(std::string_view path);
  Reply answer(const Request& request, const std::optional<Fault>& effect);

  std::uint64_t requests_total() const { return requests_total_.load(); }
  std::uint64_t requests_for(const std::string& path) const;
  std::vector<Posted> inbox() const;

 private:
  Reply route(const Request& request, std::string_view path, bool conditional);
  std::string base_for(const Request& request) const;
  std::shared_ptr<const std::string> bomb(std::int64_t mebibytes);
  std::shared_ptr<const std::string> filler(std::int64_t mebibytes);

  ReplaySettings settings_;
  Catalogue catalogue_;
  FaultBook faults_;
  std::string base_url_;
  std::atomic<std::uint64_t> requests_total_{0};
  mutable std::mutex counts_mutex_;
  std::vector<Posted> inbox_;  // under counts_mutex_
  std::unordered_map<std::string, std::uint64_t> counts_;
  std::mutex cache_mutex_;
  std::map<std::int64_t, std::shared_ptr<const std::string>> bombs_, fillers_;
};

}  // namespace vnawire::replay
