// Routing for the replay server: one request in, one reply out, with conditional requests, gzip and the faults.
#include "daemon/replay_site.h"

#include <functional>

namespace vnawire::replay {
namespace {

using Body = std::shared_ptr<const std::string>;

Body make_body(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

void set_header(Reply& reply, const std::string& name, std::string value) {
  for (auto& [key, existing] : reply.headers) {
    if (key == name) {
      existing = std::move(value);
      return;
    }
  }
  reply.headers.emplace_back(name, std::move(value));
}

void remove_header(Reply& reply, const std::string& name) {
  std::erase_if(reply.headers, [&](const auto& header) { return header.first == name; });
}

const std::string* find_header(const Reply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Calls `each` with every comma-separated element of a header value, trimmed.
void for_each_element(std::string_view value, const std::function<void(std::string_view)>& each) {
  while (!value.empty()) {
    const std::size_t comma = std::min(value.find(','), value.size());
    each(trim(value.substr(0, comma)));
    value.remove_prefix(std::min(comma + 1, value.size()));
  }
}

// The gzip form of a resource has its own ETag; both name the same file version when revalidating.
std::string gzip_etag(const std::string& etag) { return etag.substr(0, etag.size() - 1) + "-gz\""; }

bool etag_matches(std::string_view if_none_match, const std::string& etag) {
  bool match = false;
  for_each_element(if_none_match, [&](std::string_view candidate) {
    if (candidate.starts_with("W/")) candidate.remove_prefix(2);
    match = match || candidate == "*" || candidate == etag || candidate == gzip_etag(etag);
  });
  return match;
}

bool accepts_gzip(std::string_view accept_encoding) {
  bool gzip = false;
  for_each_element(accept_encoding, [&](std::string_view element) {
    const std::size_t semicolon = std::min(element.find(';'), element.size());
    const std::string_view coding = trim(element.substr(0, semicolon));
    std::string_view parameters = element.substr(semicolon);
    const bool refused = parameters.find("q=0") != std::string_view::npos &&
                         parameters.find_first_of("123456789", parameters.find("q=0")) == std::string_view::npos;
    if ((coding == "gzip" || coding == "x-gzip" || coding == "*") && !refused) gzip = true;
  });
  return gzip;
}

bool not_modified(const Request& request, const std::string& etag, std::optional<Clock::time_point> modified) {
  // If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.1.3).
  if (!request.if_none_match.empty()) return etag_matches(request.if_none_match, etag);
  if (!modified || request.if_modified_since.empty()) return false;
  const auto since = parse_http_date(request.if_modified_since);
  return since && std::chrono::floor<std::chrono::seconds>(*modified) <= *since;
}

// One representation: the conditional check, gzip when accepted, the validators.
struct Resource {
  Body body;
  std::string content_type;
  std::string etag;
  std::optional<Clock::time_point> modified;
  std::function<Body()> gzipped;  // empty: served as is
};

Reply serve(const Request& request, bool conditional, const Resource& resource) {
  Reply reply;
  const bool gzip = resource.gzipped && accepts_gzip(request.accept_encoding);
  set_header(reply, "Content-Type", resource.content_type);
  set_header(reply, "ETag", gzip ? gzip_etag(resource.etag) : resource.etag);
  if (resource.modified) set_header(reply, "Last-Modified", http_date(*resource.modified));
  set_header(reply, "Cache-Control", "no-cache");
  if (resource.gzipped) set_header(reply, "Vary", "Accept-Encoding");
  if (conditional && not_modified(request, resource.etag, resource.modified)) {
    reply.status = 304;
    remove_header(reply, "Content-Type");
    reply.body = make_body("");
    return reply;
  }
  reply.body = gzip ? resource.gzipped() : resource.body;
  if (gzip) set_header(reply, "Content-Encoding", "gzip");
  return reply;
}

Resource page(std::string text, std::string content_type) {
  Body body = make_body(std::move(text));
  Resource resource{body, std::move(content_type), etag_of(*body), std::nullopt,
                    [body] { return make_body(gzip(*body)); }};
  return resource;
}

std::int64_t loop_number(std::string_view query) {
  std::int64_t number = 0;
  const std::size_t at = query.find("loop=");
  if (at == std::string_view::npos || (at > 0 && query[at - 1] != '&')) return 0;
  for (std::size_t i = at + 5; i < query.size() && query[i] >= '0' && query[i] <= '9' && number < 1'000'000'000; ++i) {
    number = number * 10 + (query[i] - '0');
  }
  return number;
}

}  // namespace

Reply plain_reply(unsigned status, std::string text) {
  Reply reply;
  reply.status = status;
  reply.body = make_body(std::move(text));
  set_header(reply, "Content-Type", "text/plain; charset=utf-8");
  return reply;
}

runtime::Result<std::pair<std::string, int>> parse_listen(const std::string& listen) {
  auto fail = [&](const std::string& why) {
    return runtime::Status::error("bad listen address \"" + listen + "\": " + why +
                                  " (expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)");
  };
  std::string host;
  std::string_view port;
  if (listen.starts_with("[")) {
    const std::size_t close = listen.find("]:");
    if (close == std::string::npos) return fail("an IPv6 address needs ]:PORT");
    host = listen.substr(1, close - 1);
    port = std::string_view(listen).substr(close + 2);
  } else {
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return fail("no :PORT");
    host = listen.substr(0, colon);
    port = std::string_view(listen).substr(colon + 1);
    if (host.find(':') != std::string::npos) return fail("write an IPv6 address in brackets");
  }
  if (host.empty()) return fail("no host; name the address to listen on");
  if (host == "localhost") host = "127.0.0.1";
  int number = 0;
  if (port.empty() || port.size() > 5) return fail("the port must be a number from 0 to 65535");
  for (char c : port) {
    if (c < '0' || c > '9') return fail("the port must be a number from 0 to 65535");
    number = number * 10 + (c - '0');
  }
  if (number > 65535) return fail("the port must be a number from 0 to 65535");
  return std::make_pair(host, number);
}

Site::Site(const ReplaySettings& settings)
    : settings_(settings),
      catalogue_(settings.directory, settings.release_every.count() <= 0),
      faults_(settings.faults) {}

FaultPlan Site::admit(std::string_view path) {
  ++requests_total_;
  {
    std::lock_guard lock(counts_mutex_);
    // Bounded, so a client walking random paths cannot grow it without end.
    auto it = counts_.find(std::string(path));
    if (it != counts_.end()) {
      ++it->second;
    } else if (counts_.size() < 100000) {
      counts_.emplace(std::string(path), 1);
    }
  }
  return faults_.take(path);
}

std::uint64_t Site::requests_for(const std::string& path) const {
  std::lock_guard lock(counts_mutex_);
  auto it = counts_.find(path);
  return it == counts_.end() ? 0 : it->second;
}

std::string Site::base_for(const Request& request) const {
  const bool sane = !request.host.empty() && request.host.size() <= 255 &&
                    request.host.find_first_not_of(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == std::string::npos;
  return sane ? "http://" + request.host : base_url_;
}

std::vector<Posted> Site::inbox() const {
  const std::lock_guard lock(counts_mutex_);
  return inbox_;
}

Reply Site::answer(const Request& request, const std::optional<Fault>& effect) {
  const std::size_t question = std::min(request.target.find('?'), request.target.size());
  const std::string_view path = std::string_view(request.target).substr(0, question);
  const std::string_view query = std::string_view(request.target).substr(std::min(question + 1, request.target.size()));
  using Kind = Fault::Kind;
  const Kind kind = effect ? effect->kind : Kind::Delay;
  if (effect && kind == Kind::Status) return plain_reply(static_cast<unsigned>(effect->arg), "injected fault\n");
  if (effect && kind == Kind::RetryAfter) {
    Reply reply = plain_reply(429, "injected fault: retry later\n");
    set_header(reply, "Retry-After", std::to_string(effect->arg));
    return reply;
  }
  if (effect && kind == Kind::RedirectLoop) {
    Reply reply = plain_reply(302, "injected fault: redirect loop\n");
    set_header(reply, "Location", std::string(path) + "?loop=" + std::to_string(loop_number(query) + 1));
    return reply;
  }
  if (request.method == "POST" && path == "/inbox") {  // a webhook's receiver: kept for the test to read
    const std::lock_guard lock(counts_mutex_);
    inbox_.push_back({request.content_type, request.authorization, request.body, request.idempotency_key});
    return plain_reply(200, "received\n");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    Reply reply = plain_reply(405, "only GET and HEAD\n");
    set_header(reply, "Allow", "GET, HEAD");
    return reply;
  }
  // Faults that replace or cut the body need the body, so they skip the 304 shortcut.
  const bool needs_body = effect && (kind == Kind::Truncate || kind == Kind::GzipBomb || kind == Kind::Oversize);
  Reply reply = route(request, path, !needs_body);
  reply.head_only = request.method == "HEAD";
  if (!effect) return reply;
  const std::string* type = find_header(reply, "Content-Type");
  const std::string mime = type ? type->substr(0, type->find(';')) : "text/plain";
  switch (kind) {
    case Kind::WrongCharset:
      set_header(reply, "Content-Type", mime + "; charset=" + effect->charset);
      break;
    case Kind::NoCharset:
      set_header(reply, "Content-Type", mime);
      break;
    case Kind::Truncate:
      reply.truncate = true;
      break;
    case Kind::GzipBomb:
    case Kind::Oversize:
      remove_header(reply, "ETag");
      remove_header(reply, "Last-Modified");
      reply.body = kind == Kind::GzipBomb ? bomb(effect->arg) : filler(effect->arg);
      if (kind == Kind::GzipBomb) set_header(reply, "Content-Encoding", "gzip");
      if (kind == Kind::Oversize) remove_header(reply, "Content-Encoding");
      break;
    default:
      break;
  }
  return reply;
}

Reply Site::route(const Request& request, std::string_view path, bool conditional) {
  if (path.starts_with("/articles/")) {
    const auto name = percent_decode(path.substr(10));
    if (!name || name->empty() || name->find('/') != std::string::npos || name->find('\0') != std::string::npos) {
      return plain_reply(404, "not found\n");
    }
    const auto article = catalogue_.released_article(*name);
    if (!article) return plain_reply(404, "not found (or not released yet)\n");
    const std::string type = article->mime + (article->utf8 ? "; charset=utf-8" : "");
    return serve(request, conditional,
                 {article->body, type, article->etag, article->modified, [article] { return article->gzipped(); }});
  }
  const SiteInfo info{base_for(request), settings_.site_title};
  if (path == "/robots.txt") {
    const std::string text = render_robots(info, settings_.robots_disallow, settings_.robots_crawl_delay);
    return serve(request, conditional, page(text, "text/plain; charset=utf-8"));
  }
  using Renderer = std::string (*)(const SiteInfo&, const std::vector<ReleasedArticle>&);
  struct Page {
    std::string_view path;
    Renderer render;
    const char* content_type;
  };
  static constexpr Page kPages[] = {
      {"/", render_home, "text/html; charset=utf-8"},
      {"/index.html", render_home, "text/html; charset=utf-8"},
      {"/rss.xml", render_rss, "application/rss+xml; charset=utf-8"},
      {"/atom.xml", render_atom, "application/atom+xml; charset=utf-8"},
      {"/sitemap.xml", render_sitemap_index, "application/xml; charset=utf-8"},
      {"/sitemap-news.xml", render_news_sitemap, "application/xml; charset=utf-8"},
      {"/sitemap-all.xml.gz", render_plain_sitemap, "application/gzip"},
  };
  for (const auto& known : kPages) {
    if (known.path != path) continue;
    catalogue_.rescan();
    const auto articles = catalogue_.newest_first();
    Resource resource = page(known.render(info, articles), known.content_type);
    // The .xml.gz sitemap is a gzip file, not a gzip-encoded response.
    if (path == "/sitemap-all.xml.gz") {
      resource.body = make_body(gzip(*resource.body));
      resource.gzipped = nullptr;
    }
    return serve(request, conditional, resource);
  }
  return plain_reply(404, "not found\n");
}

std::shared_ptr<const std::string> Site::bomb(std::int64_t mebibytes) {
  std::lock_guard lock(cache_mutex_);
  auto& body = bombs_[mebibytes];
  if (!body) body = make_body(gzip_zeros(static_cast<std::uint64_t>(mebibytes) << 20));
  return body;
}

std::shared_ptr<const std::string> Site::filler(std::int64_t mebibytes) {
  std::lock_guard lock(cache_mutex_);
  auto& body = fillers_[mebibytes];
  if (!body) {
    static constexpr std::string_view kLine = "This body is far larger than any dispatch; a fetcher should cut it.\n";
    std::string text;
    const std::size_t size = static_cast<std::size_t>(mebibytes) << 20;
    text.reserve(size);
    while (text.size() < size) text.append(kLine.substr(0, std::min(kLine.size(), size - text.size())));
    body = make_body(std::move(text));
  }
  return body;
}

}  // namespace vnawire::replay
