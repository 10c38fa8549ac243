// The crawler's scheduling: per-host queues gated by robots.txt, interval, concurrency and a circuit breaker;
// retries wait in a timed list; listing resources (feeds, sitemaps, pages) feed article tasks.
#include "stages/fetch/fetch_web.h"

#include <algorithm>
#include <cmath>

#include "stages/fetch/fetch_feed.h"
#include "stages/fetch/fetch_stage.h"
#include "stages/fetch/fetch_text.h"
#include "stages/fetch/fetch_url.h"

namespace vnawire::fetch {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

bool looks_like_xml(std::string_view body) {
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  body = trim(body);
  if (body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f && static_cast<unsigned char>(body[1]) == 0x8b) {
    return true;  // gzip: a compressed sitemap
  }
  for (std::string_view start : {"<?xml", "<rss", "<feed", "<rdf:RDF", "<urlset", "<sitemapindex"}) {
    if (body.substr(0, start.size()) == start) return true;
  }
  return false;
}

std::string newest(const std::string& a, const std::string& b) { return a > b ? a : b; }

}  // namespace

WebCrawler::WebCrawler(std::vector<WebSource> sources, CrawlSettings crawl, HttpSettings http, FetchState& state,
                       FetchHooks hooks)
    : crawl_(std::move(crawl)), client_(std::move(http)), state_(state), hooks_(std::move(hooks)),
      random_(std::random_device{}()) {
  for (auto& source : sources) {
    LinkPattern link_pattern = compile_link_pattern(source.link_regex);
    sources_.push_back(SourceRuntime{std::move(source)});
    sources_.back().link_pattern = std::move(link_pattern);
  }
}

WebCrawler::~WebCrawler() = default;

std::chrono::milliseconds WebCrawler::jittered(milliseconds base, double jitter) {
  if (jitter <= 0) return base;
  std::uniform_real_distribution<double> spread(1.0 - jitter, 1.0 + jitter);
  return milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * spread(random_)));
}

void WebCrawler::start() {
  const auto now = Clock::now();
  for (auto& source : sources_) source.next_poll = now;
  // Items seen by an earlier run but never emitted: fetched again before anything new.
  for (const Item& item : state_.pending(10'000'000)) {
    int index = -1;
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      if (sources_[i].config.name == item.source) index = static_cast<int>(i);
    }
    enqueue(Task{TaskKind::Article, item.url, index, 0, now, item.id, false});
    hooks_.count("items_resumed", 1);
  }
}

WebCrawler::Host& WebCrawler::host_for(const std::string& url, bool allow_private) {
  Host& host = hosts_[origin_of(url)];
  host.allow_private = host.allow_private || allow_private;
  return host;
}

void WebCrawler::enqueue(Task task) {
  if (task.kind == TaskKind::Article) queued_articles_.insert(task.item_id);
  const bool allow_private = task.source >= 0 && sources_[static_cast<std::size_t>(task.source)].config.allow_private;
  Host& host = host_for(task.url, allow_private);
  if (task.not_before > Clock::now()) {
    delayed_.emplace(task.not_before, std::move(task));
  } else {
    host.queue.push_back(std::move(task));
  }
}

void WebCrawler::schedule_polls(Clock::time_point now) {
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    SourceRuntime& source = sources_[i];
    if (source.polls_in_flight > 0 || now < source.next_poll) continue;
    source.next_poll = now + jittered(source.config.interval, source.config.jitter);
    poll_source(static_cast<int>(i), now);
  }
}

void WebCrawler::poll_source(int index, Clock::time_point now) {
  SourceRuntime& source = sources_[static_cast<std::size_t>(index)];
  hooks_.count(source.config.name + ".polls", 1);
  source.sitemaps_this_round.clear();
  auto add = [&](TaskKind kind, const std::string& url) {
    ++source.polls_in_flight;
    enqueue(Task{kind, url, index, 0, now, "", false});
  };
  const std::string& kind = source.config.kind;
  if (kind == "feed") {
    add(TaskKind::Feed, source.config.url);
  } else if (kind == "sitemap") {
    add(TaskKind::Sitemap, source.config.url);
    source.sitemaps_this_round.insert(source.config.url);
  } else if (kind == "listing") {
    add(TaskKind::Listing, source.config.url);
  } else if (kind == "site" && source.discovered) {
    for (const auto& feed : source.feeds) add(TaskKind::Feed, feed);
    for (const auto& sitemap : source.sitemaps) {
      if (source.sitemaps_this_round.insert(sitemap).second) add(TaskKind::Sitemap, sitemap);
    }
    if (source.polls_in_flight == 0) round_finished(index);
  } else if (kind == "site") {
    add(TaskKind::Home, source.config.url);
  } else {
    add(TaskKind::Probe, source.config.url);
  }
}

void WebCrawler::round_finished(int index) {
  if (index < 0) return;
  sources_[static_cast<std::size_t>(index)].first_round_done = true;
}

bool WebCrawler::before_since(const SourceRuntime& source, const std::string& date) const {
  return !source.config.since.empty() && !date.empty() && date < source.config.since;
}

void WebCrawler::start_due(Clock::time_point now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    Task task = std::move(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
    const bool allow_private =
        task.source >= 0 && sources_[static_cast<std::size_t>(task.source)].config.allow_private;
    host_for(task.url, allow_private).queue.push_front(std::move(task));
  }
  for (auto& [origin, host] : hosts_) {
    if (static_cast<int>(client_.in_flight()) >= crawl_.max_in_flight) return;
    if (host.queue.empty()) continue;
    if (!host.refused.empty() && now >= host.refused_until) {
      host.refused.clear();  // time to ask again (robots.txt first)
      host.robots.reset();
    }
    if (!host.refused.empty()) {
      while (!host.queue.empty()) {
        Task task = std::move(host.queue.front());
        host.queue.pop_front();
        give_up(task, host.refused);
      }
      continue;
    }
    if (now < host.breaker_until || host.half_open_probe) continue;
    const bool robots_stale = !host.robots || now >= host.robots_expires;
    if (crawl_.respect_robots && robots_stale) {
      if (!host.robots_fetching && now >= host.next_start) {
        host.robots_fetching = true;
        const std::uint64_t tag = next_tag_++;
        Task task{TaskKind::Robots, origin + "/robots.txt", -1, 0, now, "", false};
        client_.submit(HttpRequest{tag, task.url, "", "", host.allow_private});
        running_.emplace(tag, std::move(task));
        ++host.in_flight;
      }
      if (!host.robots) continue;  // stale rules keep applying while the new file is fetched
    }
    const bool half_open = host.breaker_until != Clock::time_point{} && now >= host.breaker_until;
    while (!host.queue.empty() && host.in_flight < crawl_.per_host_in_flight && now >= host.next_start &&
           static_cast<int>(client_.in_flight()) < crawl_.max_in_flight) {
      Task task = std::move(host.queue.front());
      host.queue.pop_front();
      if (crawl_.respect_robots && host.robots && !host.robots->allowed(path_and_query_of(task.url))) {
        hooks_.count("robots_disallowed", 1);
        give_up(task, "disallowed by robots.txt");
        continue;
      }
      HttpRequest request{next_tag_++, task.url, "", "", host.allow_private};
      if (task.kind == TaskKind::Article) {
        if (task.recheck) {
          if (auto item = state_.find(task.item_id)) {
            request.if_none_match = item->etag;
            request.if_modified_since = item->last_modified;
          }
        }
      } else if (auto resource = state_.resource(task.url)) {
        request.if_none_match = resource->etag;
        request.if_modified_since = resource->last_modified;
      }
      running_.emplace(request.tag, std::move(task));
      client_.submit(std::move(request));
      ++host.in_flight;
      host.next_start = now + std::max(crawl_.per_host_interval, host.crawl_delay);
      if (half_open) {
        host.half_open_probe = true;
        break;
      }
    }
  }
}

std::chrono::milliseconds WebCrawler::pump(milliseconds wait) {
  auto now = Clock::now();
  schedule_polls(now);
  start_due(now);
  const milliseconds poll_wait = client_.in_flight() > 0 ? wait : milliseconds(0);
  for (auto& response : client_.poll(poll_wait)) {
    auto it = running_.find(response.tag);
    if (it == running_.end()) continue;
    Task task = std::move(it->second);
    running_.erase(it);
    Host& host = host_for(task.url, false);
    --host.in_flight;
    const std::string& source_name = name_of(task.source);
    hooks_.count(source_name + ".requests", 1);
    // Every answer by its status, for the per-source HTTP status metric (errors are also counted below).
    if (response.failure == HttpFailure::None) {
      hooks_.count(source_name + ".status." + std::to_string(response.status), 1);
    }
    hooks_.count(source_name + ".bytes", response.wire_bytes);
    hooks_.count(source_name + ".latency_ms_sum",
                 static_cast<std::uint64_t>(duration_cast<milliseconds>(response.elapsed).count()));
    handle(task, std::move(response));
  }
  list_pending(kListSlice);
  now = Clock::now();
  start_due(now);

  // How long until something is due: the stage loop sleeps that long (transfers in flight, or items left to
  // list: come back soon).
  if (client_.in_flight() > 0 || !listings_.empty()) return milliseconds(0);
  auto next = now + milliseconds(1000);
  for (const auto& source : sources_) {
    if (source.polls_in_flight == 0) next = std::min(next, source.next_poll);
  }
  if (!delayed_.empty()) next = std::min(next, delayed_.begin()->first);
  for (const auto& [origin, host] : hosts_) {
    if (!host.queue.empty()) next = std::min(next, std::max(host.next_start, host.breaker_until));
  }
  return std::max(milliseconds(0), duration_cast<milliseconds>(next - now));
}

void WebCrawler::handle(const Task& task, HttpResponse response) {
  Host& host = host_for(task.url, false);
  host.half_open_probe = false;
  if (task.kind == TaskKind::Robots) return handle_robots(task, response);
  const std::string& source_name = name_of(task.source);
  const auto now = Clock::now();
  if (response.failure != HttpFailure::None) {
    hooks_.count(source_name + ".errors." + failure_name(response.failure), 1);
    if (is_retryable(response.failure)) note_failure(host, now);
    return retry_or_give_up(task, response, response.error);
  }
  if (response.status == 429 || response.status >= 500) {
    hooks_.count(source_name + ".errors.http_" + std::to_string(response.status), 1);
    if (response.retry_after) {
      // The server asked for a pause: nothing more goes to this host until it is over.
      host.next_start = std::max(host.next_start, now + std::chrono::duration_cast<milliseconds>(*response.retry_after));
      hooks_.count("retry_after_honoured", 1);
    } else {
      note_failure(host, now);
    }
    return retry_or_give_up(task, response, "HTTP " + std::to_string(response.status));
  }
  note_success(host);
  if (response.status == 304) {
    hooks_.count(source_name + ".not_modified", 1);
    if (task.kind != TaskKind::Article) {
      auto resource = state_.resource(task.url).value_or(Resource{task.url});
      resource.last_poll.clear();
      (void)state_.put_resource(resource);
      resource_done(task.source);
    } else {
      unqueue_article(task.item_id);
    }
    return;
  }
  if (response.status < 200 || response.status >= 300) {
    hooks_.count(source_name + ".errors.http_" + std::to_string(response.status), 1);
    Task final_task = task;
    final_task.attempt = crawl_.max_attempts;  // other 4xx: retrying will not help
    return retry_or_give_up(final_task, response, "HTTP " + std::to_string(response.status));
  }
  if (task.kind == TaskKind::Article) return handle_article(task, std::move(response));
  handle_listing(task, response);
}

void WebCrawler::handle_robots(const Task& task, const HttpResponse& response) {
  Host& host = host_for(task.url, false);
  host.robots_fetching = false;
  const auto now = Clock::now();
  if (response.failure == HttpFailure::None && response.status >= 200 && response.status < 300) {
    host.robots = RobotsRules::parse(response.body, crawl_.agent_token);
    host.robots_expires = now + crawl_.robots_ttl;
    if (auto delay = host.robots->crawl_delay_seconds()) {
      host.crawl_delay = milliseconds(static_cast<std::int64_t>(std::min(*delay, 60.0) * 1000));
    }
  } else if (response.failure == HttpFailure::None && response.status >= 400 && response.status < 500 &&
             response.status != 429) {
    host.robots = RobotsRules::allow_all();  // RFC 9309: an unavailable robots.txt allows everything
    host.robots_expires = now + crawl_.robots_ttl;
  } else if (response.failure == HttpFailure::Refused || response.failure == HttpFailure::Tls) {
    // Waiting will not help soon (the address's class, an untrusted certificate): the host's work fails at
    // once with this reason; a refused address stays refused, a certificate is tried again after robots_ttl.
    hooks_.count(std::string("robots.errors.") + failure_name(response.failure), 1);
    host.refused = response.error;
    host.refused_until = response.failure == HttpFailure::Refused ? Clock::time_point::max() : now + crawl_.robots_ttl;
  } else {
    // Unreachable (5xx, 429, network): RFC 9309 says assume everything is disallowed. Nothing is fetched
    // from the host (queued tasks wait) until robots.txt answers; it is asked again after a pause.
    note_failure(host, now);
    hooks_.warn(origin_of(task.url), "robots.txt unreachable (" +
                                         (response.failure != HttpFailure::None
                                              ? response.error
                                              : "HTTP " + std::to_string(response.status)) +
                                         "): the host is treated as disallowed for now");
    host.robots.reset();
    const milliseconds pause = response.retry_after ? duration_cast<milliseconds>(*response.retry_after)
                                                    : std::min(crawl_.robots_ttl, crawl_.backoff_base * 5);
    host.next_start = now + pause;
  }
}

void WebCrawler::handle_listing(const Task& task, const HttpResponse& response) {
  if (task.source < 0) return;
  SourceRuntime& source = sources_[static_cast<std::size_t>(task.source)];
  const std::string& name = source.config.name;
  TaskKind kind = task.kind;
  std::optional<runtime::Result<Feed>> feed;  // parsed once, by the probe or as a feed
  if (kind == TaskKind::Probe) {
    // `auto`: a feed, a sitemap, or an HTML page (then a site root whose feeds are announced in it).
    const bool xml = looks_like_xml(response.body);
    if (xml) feed = parse_feed(response.body, response.final_url);
    if (xml && feed->ok()) {
      source.config.kind = "feed";
      kind = TaskKind::Feed;
    } else if (xml) {
      source.config.kind = "sitemap";
      kind = TaskKind::Sitemap;
    } else {
      source.config.kind = "site";
      kind = TaskKind::Home;
    }
  }
  bool ok = true;
  Listing listing;
  listing.source = task.source;
  auto unreadable = [&](const std::string& what, const std::string& error) {
    ok = false;
    hooks_.count(name + ".errors.parse", 1);
    hooks_.warn(name, what + " " + task.url + ": " + error);
  };
  if (kind == TaskKind::Feed) {
    if (!feed) feed = parse_feed(response.body, response.final_url);
    if (!feed->ok()) {
      unreadable("malformed feed", feed->error());
    } else {
      Feed& parsed = feed->value();
      listing.items.reserve(parsed.entries.size());
      for (auto& entry : parsed.entries) {
        listing.items.push_back({std::move(entry.url), std::move(entry.title), std::move(entry.published),
                                 std::move(entry.updated), std::move(entry.guid), parsed.language});
      }
    }
  } else if (kind == TaskKind::Sitemap) {
    auto sitemap = parse_sitemap(response.body, response.final_url, 64u << 20);
    if (!sitemap) {
      unreadable("malformed sitemap", sitemap.error());
    } else {
      for (const auto& entry : sitemap->entries) {
        if (sitemap->is_index) {
          if (before_since(source, entry.lastmod)) continue;
          if (!source.sitemaps_this_round.insert(entry.url).second) continue;
          ++source.polls_in_flight;
          enqueue(Task{TaskKind::Sitemap, entry.url, task.source, 0, Clock::now(), "", false});
        } else {
          listing.items.push_back({entry.url, entry.news_title, entry.news_published, entry.lastmod, "",
                                   entry.news_language});
        }
      }
    }
  } else if (kind == TaskKind::Listing) {
    auto links = listing_links(response.body, response.final_url, source.link_pattern, source.config.link_xpath);
    if (!links) {
      unreadable("listing page", links.error());
    } else {
      for (auto& link : *links) listing.items.push_back({std::move(link), "", "", "", "", ""});
    }
  } else if (kind == TaskKind::Home) {
    source.feeds = discover_feeds(response.body, response.final_url);
    source.sitemaps.clear();
    if (auto it = hosts_.find(origin_of(task.url)); it != hosts_.end() && it->second.robots) {
      source.sitemaps = it->second.robots->sitemaps();
    }
    source.discovered = true;
    if (source.feeds.empty() && source.sitemaps.empty()) {
      hooks_.warn(name, task.url + " announces no feed and robots.txt lists no sitemap: configure the source as "
                        "kind: listing with a link_regex");
    }
    for (const auto& feed : source.feeds) {
      ++source.polls_in_flight;
      enqueue(Task{TaskKind::Feed, feed, task.source, 0, Clock::now(), "", false});
    }
    for (const auto& sitemap : source.sitemaps) {
      if (!source.sitemaps_this_round.insert(sitemap).second) continue;
      ++source.polls_in_flight;
      enqueue(Task{TaskKind::Sitemap, sitemap, task.source, 0, Clock::now(), "", false});
    }
  }
  // Validators are saved only with a parsed body, in the same transaction as the items it listed: after a
  // crash, both are lost together and the next poll gets the full body again.
  if (ok && kind != TaskKind::Home) listing.validators = Resource{task.url, response.etag, response.last_modified, ""};
  listings_.push_back(std::move(listing));
}

void WebCrawler::list_pending(std::size_t limit) {
  while (!listings_.empty()) {
    Listing& listing = listings_.front();
    const std::size_t end = std::min(listing.items.size(), listing.next + limit);
    if (end > listing.next) hooks_.count(name_of(listing.source) + ".items_listed", end - listing.next);
    limit -= end - listing.next;
    for (; listing.next < end; ++listing.next) listed(listing.source, listing.items[listing.next]);
    if (listing.next < listing.items.size()) return;
    // After its last item, so that a crash in between loses both and the next poll lists them all again.
    if (listing.validators) (void)state_.put_resource(*listing.validators);
    const int source = listing.source;
    listings_.pop_front();
    resource_done(source);
    if (limit == 0) return;
  }
}

void WebCrawler::listed(int index, const ListedItem& listed_item) {
  SourceRuntime& source = sources_[static_cast<std::size_t>(index)];
  const std::string& title = listed_item.title;
  const std::string& published = listed_item.published;
  const std::string& guid = listed_item.guid;
  const std::string& feed_language = listed_item.language;
  const std::string canonical = canonical_url(listed_item.url);
  if (canonical.empty()) {
    hooks_.count(source.config.name + ".links_invalid", 1);
    return;
  }
  const std::string listed_date = newest(published, listed_item.updated);
  if (before_since(source, listed_date)) {
    hooks_.count(source.config.name + ".items_before_since", 1);
    return;
  }
  const std::string id = document_id_for(canonical);
  Item item;
  item.id = id;
  item.url = canonical;
  item.source = source.config.name;
  item.title = title;
  item.published = published;
  item.guid = guid;
  item.listed_date = listed_date;
  auto known = state_.find(id);
  if (auto status = state_.put(item, known.has_value()); !status) {
    hooks_.warn(source.config.name, status.message());
    return;
  }
  if (queued_articles_.count(id)) return;
  // Kept only for items about to be fetched, so the map stays as small as the queue.
  if (!feed_language.empty()) feed_languages_[id] = feed_language;
  if (!known) {
    hooks_.count(source.config.name + ".items_new", 1);
    enqueue(Task{TaskKind::Article, canonical, index, 0, Clock::now(), id, false});
  } else if (known->status == ItemStatus::Pending) {
    enqueue(Task{TaskKind::Article, canonical, index, 0, Clock::now(), id, false});
  } else if (known->status == ItemStatus::Emitted && listed_date > known->listed_date) {
    hooks_.count(source.config.name + ".rechecks", 1);
    enqueue(Task{TaskKind::Article, canonical, index, 0, Clock::now(), id, true});
  }
}

void WebCrawler::handle_article(const Task& task, HttpResponse response) {
  FetchedPage page;
  if (auto language = feed_languages_.find(task.item_id); language != feed_languages_.end()) {
    page.feed_language = std::move(language->second);
  }
  unqueue_article(task.item_id);
  page.id = task.item_id;
  page.url = task.url;
  page.final_url = response.final_url;
  page.source = name_of(task.source);
  page.item = state_.find(task.item_id).value_or(Item{task.item_id, task.url, page.source});
  page.response = std::move(response);
  hooks_.count(page.source + ".pages", 1);
  pages_.push_back(std::move(page));
}

void WebCrawler::retry_or_give_up(Task task, const HttpResponse& response, const std::string& why) {
  const bool retryable = is_retryable(response.failure) || response.status == 429 || response.status >= 500;
  if (retryable && task.attempt + 1 < crawl_.max_attempts) {
    milliseconds delay;
    if (response.retry_after) {
      delay = duration_cast<milliseconds>(*response.retry_after);
    } else {
      const double base = static_cast<double>(crawl_.backoff_base.count()) * std::pow(2.0, task.attempt);
      std::uniform_real_distribution<double> spread(0.5, 1.5);
      delay = milliseconds(static_cast<std::int64_t>(std::min(base * spread(random_),
                                                              static_cast<double>(crawl_.backoff_max.count()))));
    }
    hooks_.count("retries", 1);
    ++task.attempt;
    task.not_before = Clock::now() + delay;
    enqueue(std::move(task));
    return;
  }
  give_up(task, why + " (" + task.url + ", after " + std::to_string(task.attempt + 1) + " attempt(s))");
}

void WebCrawler::unqueue_article(const std::string& id) {
  queued_articles_.erase(id);
  feed_languages_.erase(id);
}

void WebCrawler::give_up(const Task& task, const std::string& reason) {
  const std::string& source_name = name_of(task.source);
  if (task.kind == TaskKind::Article) {
    unqueue_article(task.item_id);
    (void)state_.mark_failed(task.item_id, reason);
    hooks_.count(source_name + ".gave_up", 1);
    hooks_.dead_letter(reason, task.item_id, "{\"url\":\"" + task.url + "\"}");
    return;
  }
  hooks_.warn(source_name, "cannot poll " + task.url + ": " + reason + "; trying again next interval");
  resource_done(task.source);
}

void WebCrawler::resource_done(int source) {
  if (source >= 0 && --sources_[static_cast<std::size_t>(source)].polls_in_flight == 0) round_finished(source);
}

void WebCrawler::note_success(Host& host) {
  host.consecutive_failures = 0;
  host.breaker_until = {};
  host.breaker_cooldown = milliseconds(0);
}

void WebCrawler::note_failure(Host& host, Clock::time_point now) {
  ++host.consecutive_failures;
  const bool reopening = host.breaker_until != Clock::time_point{};
  if (host.consecutive_failures < crawl_.breaker_threshold && !reopening) return;
  host.breaker_cooldown = reopening ? std::min(host.breaker_cooldown * 2, crawl_.backoff_max) : crawl_.breaker_cooldown;
  if (host.breaker_cooldown.count() == 0) host.breaker_cooldown = crawl_.breaker_cooldown;
  host.breaker_until = now + host.breaker_cooldown;
  hooks_.count("breaker_opened", 1);
}

const std::string& WebCrawler::name_of(int source) const {
  static const std::string kResumed = "resumed";  // items of a source no longer configured
  return source >= 0 ? sources_[static_cast<std::size_t>(source)].config.name : kResumed;
}

std::vector<FetchedPage> WebCrawler::take_pages() {
  std::vector<FetchedPage> out;
  out.swap(pages_);
  return out;
}

bool WebCrawler::idle_after_first_round() const {
  for (const auto& source : sources_) {
    if (!source.first_round_done || source.polls_in_flight > 0) return false;
  }
  return queued() == 0 && running_.empty() && pages_.empty() && listings_.empty();
}

std::size_t WebCrawler::queued() const {
  std::size_t n = delayed_.size();
  for (const auto& [origin, host] : hosts_) n += host.queue.size();
  return n;
}

}  // namespace vnawire::fetch
