// `vnawire replay`: serves a folder of dispatches as a small news site (home page, RSS, news sitemap, articles)
// on loopback, with fault injection, so the real fetch stage can be exercised end to end. Beast stays in the .cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "stages/runtime/status.h"

namespace vnawire::replay {

// One injected fault: applies to requests whose path starts with `path_prefix`, for the first `count` matching
// requests (0: every one) and, with a window, only for `window` from the first matching request (an outage of
// that length). Written on the command line as KIND[=ARG]@PREFIX[*COUNT][~SECONDS], e.g. "status=500@/articles/*2"
// or "status=503@/inbox~10".
struct Fault {
  enum class Kind {
    Delay,         // ARG milliseconds before answering
    Status,        // answer with status ARG (500, 404, …) and a short body
    RetryAfter,    // 429 with Retry-After: ARG seconds
    Truncate,      // announce the full Content-Length, send half the body, close
    WrongCharset,  // declare charset=ARG (default iso-8859-1) whatever the body is
    NoCharset,     // Content-Type without a charset parameter
    RedirectLoop,  // 302 to the same path with ?loop=N+1, forever
    GzipBomb,      // a gzip body of ARG MiB of zeros (default 64) served with Content-Encoding: gzip
    Oversize,      // a body of ARG MiB (default 64)
  };
  Kind kind = Kind::Status;
  std::int64_t arg = 0;
  std::string path_prefix = "/";
  std::int64_t count = 0;
  std::chrono::milliseconds window{0};  // 0: no time limit
  std::string charset;                  // WrongCharset: the declared charset (its ARG is a name, not a number)
};

// Parses KIND[=ARG]@PREFIX[*COUNT][~SECONDS]; kinds are written delay, status, retry-after, truncate, wrong-charset,
// no-charset, redirect-loop, gzip-bomb, oversize.
runtime::Result<Fault> parse_fault(const std::string& spec);

// A request POST /inbox received.
struct Posted {
  std::string content_type;
  std::string authorization;
  std::string body;
  std::string idempotency_key;
};

struct ReplaySettings {
  std::filesystem::path directory;             // *.txt (text/plain) and *.html / *.htm (text/html), by name order
  std::string listen = "127.0.0.1:0";          // port 0: any free port (see ReplayServer::port)
  std::chrono::milliseconds release_every{0};  // 0: every file at once; otherwise one more file each period
  std::vector<Fault> faults;
  std::vector<std::string> robots_disallow;  // Disallow: lines of /robots.txt (for User-agent: *)
  double robots_crawl_delay = 0;             // Crawl-delay: in /robots.txt when > 0
  std::string site_title = "vnawire replay";
  int threads = 1;
};

// Site layout (all URLs absolute on http://HOST:PORT):
//   /                    home page: <link rel="alternate" type="application/rss+xml" href="/rss.xml">, the
//                        Atom feed link, and links to released articles
//   /robots.txt          User-agent: *, the configured Disallow lines, Sitemap: /sitemap.xml
//   /rss.xml, /atom.xml  the released articles, newest first (title: the file's first line; pubDate: release time)
//   /sitemap.xml         a sitemap index of /sitemap-news.xml and /sitemap-all.xml.gz
//   /sitemap-news.xml    Google News sitemap (news:publication_date, news:title; lastmod: the file's mtime)
//   /sitemap-all.xml.gz  plain urlset, gzip-compressed file
//   /articles/NAME       the file as is (Content-Type by extension, charset=utf-8 when the bytes are valid
//                        UTF-8, none otherwise), ETag / If-None-Match and Last-Modified / If-Modified-Since → 304,
//                        gzip when the client accepts it
// The folder is rescanned on every release tick and every feed request: new files join the queue; a changed
// file gets a new ETag and Last-Modified.
class ReplayServer {
 public:
  explicit ReplayServer(ReplaySettings settings);
  ~ReplayServer();  // stops
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  // Binds and starts serving on background threads; an error names the address when it cannot bind.
  runtime::Status start();
  void stop();
  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT"

  // Test hooks. release_next: one more file now (returns false when none is left).
  bool release_next();
  std::size_t released() const;
  // What POST /inbox received (a webhook receiver for the sink tests; faults apply to /inbox too).
  std::vector<Posted> inbox() const;
  std::size_t pending() const;
  std::uint64_t requests_total() const;
  std::uint64_t requests_for(const std::string& path) const;  // exact path, query excluded
  // The most concurrent requests seen in flight at once.
  std::uint64_t max_in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vnawire::replay
