// The web side of the fetch stage: polls feeds, sitemaps and listing pages, discovers them from a site root,
// and fetches the articles they list, politely (robots.txt, per-host interval and concurrency, backoff,
// circuit breaker). Pages come out of take_pages(); the engine turns them into documents.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stages/fetch/fetch_feed.h"
#include "stages/fetch/fetch_http.h"
#include "stages/fetch/fetch_robots.h"
#include "stages/fetch/fetch_state.h"

namespace vnawire::fetch {

using Clock = std::chrono::steady_clock;

// One configured web source. `kind` is site (discovers feeds and sitemaps from the root), feed, sitemap,
// listing (an HTML section page and a link pattern), or auto (decided from what the URL serves).
struct WebSource {
  std::string name;
  std::string kind = "auto";
  std::string url;
  std::chrono::milliseconds interval{300000};
  double jitter = 0.1;    // each wait is interval × (1 ± jitter)
  std::string since;      // ISO 8601: listed items dated before it are not backfilled ("" = no bound)
  bool allow_private = false;
  std::string link_regex;  // listing: links to take
  std::string link_xpath;  // listing: where links are taken from
};

struct CrawlSettings {
  std::string agent_token = "vnawire";  // the robots.txt product token
  int max_in_flight = 16;
  int per_host_in_flight = 2;
  std::chrono::milliseconds per_host_interval{500};
  int max_attempts = 5;
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{600000};
  int breaker_threshold = 5;  // consecutive failures that open a host's circuit
  std::chrono::milliseconds breaker_cooldown{60000};
  bool respect_robots = true;
  std::chrono::milliseconds robots_ttl{3600000};
};

// An article page fetched and ready to become a document.
struct FetchedPage {
  std::string id;
  std::string url;        // canonical URL the id derives from
  std::string final_url;  // after redirects
  std::string source;
  HttpResponse response;
  Item item;              // the state row as it was before this fetch (version 0: never emitted)
  std::string feed_language;  // the language the feed or news sitemap that listed it declares, "" when unknown
};

// How the fetcher reports: counters, warnings about a source, and dead-letter records for items given up.
struct FetchHooks {
  std::function<void(const std::string& counter, std::uint64_t n)> count;
  std::function<void(const std::string& source, const std::string& message)> warn;
  std::function<void(const std::string& reason, const std::string& id, const std::string& payload)> dead_letter;
};

class WebCrawler {
 public:
  WebCrawler(std::vector<WebSource> sources, CrawlSettings crawl, HttpSettings http, FetchState& state,
             FetchHooks hooks);
  ~WebCrawler();

  // Re-queues items seen but never emitted (from an earlier run) and schedules every source's first poll.
  void start();
  // Starts what may start now, collects finished transfers (waiting at most `wait`), and returns how long
  // until something is due (for the stage loop's sleep).
  std::chrono::milliseconds pump(std::chrono::milliseconds wait);
  // Article pages fetched since the last call.
  std::vector<FetchedPage> take_pages();
  // Once-mode: every source polled at least once and nothing queued or in flight.
  bool idle_after_first_round() const;
  std::size_t queued() const;
  std::size_t in_flight() const { return client_.in_flight(); }

 private:
  enum class TaskKind { Robots, Probe, Home, Feed, Sitemap, Listing, Article };
  struct Task {
    TaskKind kind;
    std::string url;
    int source = -1;
    int attempt = 0;
    Clock::time_point not_before{};
    std::string item_id;  // Article
    bool recheck = false;  // Article: an emitted item listed with a newer date (conditional GET)
  };
  struct Host {
    std::optional<RobotsRules> robots;
    Clock::time_point robots_expires{};
    bool robots_fetching = false;
    bool allow_private = false;
    int in_flight = 0;
    Clock::time_point next_start{};
    std::chrono::milliseconds crawl_delay{0};
    int consecutive_failures = 0;
    Clock::time_point breaker_until{};
    std::chrono::milliseconds breaker_cooldown{0};
    bool half_open_probe = false;
    std::string refused;  // why nothing can be fetched from it now (a private address, an untrusted certificate)
    Clock::time_point refused_until{};
    std::deque<Task> queue;
  };
  struct SourceRuntime {
    WebSource config;
    Clock::time_point next_poll{};
    int polls_in_flight = 0;  // listing resources of this source being fetched (its round is done at 0)
    bool first_round_done = false;
    bool discovered = false;  // site: feeds and sitemaps found
    std::vector<std::string> feeds;
    std::vector<std::string> sitemaps;
    std::unordered_set<std::string> sitemaps_this_round;
    LinkPattern link_pattern;  // config.link_regex, compiled once rather than for every listing page
  };

  void schedule_polls(Clock::time_point now);
  void poll_source(int index, Clock::time_point now);
  void enqueue(Task task);
  void start_due(Clock::time_point now);
  void handle(const Task& task, HttpResponse response);
  void handle_robots(const Task& task, const HttpResponse& response);
  void handle_listing(const Task& task, const HttpResponse& response);
  void handle_article(const Task& task, HttpResponse response);
  void retry_or_give_up(Task task, const HttpResponse& response, const std::string& why);
  void give_up(const Task& task, const std::string& reason);
  void note_success(Host& host);
  void note_failure(Host& host, Clock::time_point now);
  // What a feed, sitemap or listing page named, listed a slice at a time: pump() lists at most kListSlice items,
  // so that a sitemap of 50,000 URLs does not hold the stage loop (and its heartbeats) for seconds.
  struct ListedItem {
    std::string url, title, published, updated, guid, language;
  };
  struct Listing {
    int source = -1;
    std::vector<ListedItem> items;
    std::size_t next = 0;
    std::optional<Resource> validators;  // saved once every item is listed, never before
  };
  static constexpr std::size_t kListSlice = 2000;
  // Lists up to `limit` waiting items, then ends each listing done with: its validators and its round.
  void list_pending(std::size_t limit);
  void listed(int source, const ListedItem& item);
  void round_finished(int source);
  // A listing resource of `source` was handled or given up: the poll round ends with the last one.
  void resource_done(int source);
  void unqueue_article(const std::string& id);
  bool before_since(const SourceRuntime& source, const std::string& date) const;
  Host& host_for(const std::string& url, bool allow_private);
  const std::string& name_of(int source) const;
  std::chrono::milliseconds jittered(std::chrono::milliseconds base, double jitter);

  std::vector<SourceRuntime> sources_;
  CrawlSettings crawl_;
  HttpClient client_;
  FetchState& state_;
  FetchHooks hooks_;
  std::map<std::string, Host> hosts_;  // by origin
  std::unordered_map<std::uint64_t, Task> running_;
  std::multimap<Clock::time_point, Task> delayed_;  // retries waiting for their time
  std::uint64_t next_tag_ = 1;
  std::unordered_set<std::string> queued_articles_;  // item ids queued or in flight
  std::vector<FetchedPage> pages_;
  std::deque<Listing> listings_;  // listed resources whose items are not all listed yet
  // Item id -> the language its feed declares. In memory only: after a restart an item re-queued from the
  // state has no entry until its feed lists it again, and langid then goes by its other hints.
  std::unordered_map<std::string, std::string> feed_languages_;
  std::mt19937_64 random_;
};

}  // namespace vnawire::fetch
