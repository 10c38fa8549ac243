// The options table of the fetch stage, and its translation into FetchSettings.
#include "stages/fetch/fetch_config.h"

#include <optional>

#include "stages/fetch/fetch_feed.h"
#include "stages/fetch/fetch_url.h"

namespace vnawire::fetch {
namespace {

constexpr std::int64_t kWebInterval = 300000;  // a web source's polls when interval_ms is 0 (its default)

using runtime::OptionSpec;
using runtime::OptionType;
using std::chrono::milliseconds;

const std::string kDefaultAgent = "vnawire/0.1 (news pipeline; +https://vnawire.invalid/bot)";

std::shared_ptr<const runtime::OptionSpecs> source_specs() {
  static const auto specs = std::make_shared<const runtime::OptionSpecs>(runtime::OptionSpecs{
      OptionSpec{"name", OptionType::String, {}, "The source's name, used in logs, counters and records.", true},
      OptionSpec{"kind",
                 OptionType::String,
                 std::string("auto"),
                 "site: discover feeds and sitemaps from a site root; feed; sitemap; listing: an HTML section page "
                 "and a link pattern; directory; warc; auto: decided from what the URL serves.",
                 false,
                 std::nullopt,
                 std::nullopt,
                 {"auto", "site", "feed", "sitemap", "listing", "directory", "warc"}},
      OptionSpec{"url", OptionType::String, std::string(), "The URL polled (site, feed, sitemap, listing, auto)."},
      OptionSpec{"path", OptionType::String, std::string(),
                 "directory: the folder tailed; warc: a .warc/.warc.gz file or a folder of them (relative paths "
                 "are under state_dir)."},
      OptionSpec{"enabled", OptionType::Bool, true, "A disabled source is kept in the file but not polled."},
      OptionSpec{"interval_ms", OptionType::Int, std::int64_t{0},
                 "How often the source is polled; 0: by its kind, every 5 minutes for a web source and every "
                 "`poll_interval_ms` for a directory.",
                 false, 0.0, 86400000.0},
      OptionSpec{"jitter", OptionType::Double, 0.1,
                 "Each wait is interval × (1 ± jitter), so that many sources do not poll in step.", false, 0.0, 0.5},
      OptionSpec{"since", OptionType::String, std::string(),
                 "Items listed with a date before this one (YYYY-MM-DD or ISO 8601) are not backfilled."},
      OptionSpec{"allow_private", OptionType::Bool, false,
                 "Permit loopback, private and link-local addresses (tests, replay servers, intranets)."},
      OptionSpec{"link_regex", OptionType::String, std::string(),
                 "listing: ECMAScript regex an article link's absolute URL must match."},
      OptionSpec{"link_xpath", OptionType::String, std::string(),
                 "listing: XPath of the page region (or href attributes) links are taken from."},
      OptionSpec{"extensions", OptionType::StringList, std::vector<std::string>{".txt", ".html", ".htm"},
                 "directory: file extensions taken."},
      OptionSpec{"language", OptionType::String, std::string(),
                 "The language the source publishes in (ISO 639-1, e.g. fr), recorded as fetch.language: a hint "
                 "for langid on short texts."},
      OptionSpec{"recursive", OptionType::Bool, false, "directory: also tail subfolders."},
      OptionSpec{"settle_ms", OptionType::Int, std::int64_t{300},
                 "directory: a file is taken once unmodified for this long.", false, 0.0, 600000.0},
  });
  return specs;
}

std::vector<std::string> dotted(const std::vector<std::string>& extensions) {
  std::vector<std::string> out;
  for (auto ext : extensions) {
    if (!ext.empty() && ext[0] != '.') ext = "." + ext;
    out.push_back(ext);
  }
  return out;
}

std::filesystem::path resolve(const std::string& path, const std::filesystem::path& state_dir) {
  std::filesystem::path p(path);
  return p.is_absolute() ? p : state_dir / p;
}

std::string agent_token(const std::string& user_agent) {
  std::string token;
  for (char c : user_agent) {
    if (c == '/' || c == ' ') break;
    token += c;
  }
  return token.empty() ? std::string("vnawire") : token;
}

}  // namespace

const runtime::OptionSpecs& fetch_option_specs() {
  auto ms = [](const char* key, std::int64_t value, const char* doc, double min, double max) {
    return OptionSpec{key, OptionType::Int, value, doc, false, min, max};
  };
  static const runtime::OptionSpecs specs{
      OptionSpec{"sources",
                 OptionType::SectionList,
                 {},
                 "What is fetched: a list of sources, each with a name and a kind.",
                 false,
                 std::nullopt,
                 std::nullopt,
                 {},
                 source_specs()},
      OptionSpec{"directory", OptionType::String, std::string(),
                 "Shorthand for one directory source named after the stage (relative paths are under "
                 "state_dir)."},
      OptionSpec{"extensions", OptionType::StringList, std::vector<std::string>{".txt", ".html", ".htm"},
                 "File extensions the `directory` shorthand takes; others are ignored."},
      OptionSpec{"recursive", OptionType::Bool, false, "The `directory` shorthand also tails subfolders."},
      ms("poll_interval_ms", 1000,
         "How often the `directory` shorthand's folder is scanned, and a `directory` source's without interval_ms.",
         10.0, 3600000.0),
      ms("settle_ms", 300, "A file is taken once unmodified for this long, so half-written files are not read.", 0.0,
         600000.0),
      OptionSpec{"max_bytes", OptionType::Int, std::int64_t{16 << 20},
                 "Largest body or file taken (after decompression); larger ones are dead-lettered.", false, 1.0,
                 268435456.0},
      OptionSpec{"max_docs_per_second", OptionType::Double, 0.0,
                 "Upper bound on documents emitted per second; 0 means no bound.", false, 0.0, 1000000.0},
      OptionSpec{"user_agent", OptionType::String, kDefaultAgent,
                 "User-Agent sent with every request; its first word is the robots.txt product token."},
      ms("max_in_flight", 16, "HTTP requests in flight at once, all hosts together.", 1.0, 1024.0),
      ms("per_host_in_flight", 2, "HTTP requests in flight at once to one host.", 1.0, 256.0),
      ms("per_host_interval_ms", 1000,
         "Least time between two requests to one host (robots.txt Crawl-delay, "
         "when longer, wins).",
         0.0, 600000.0),
      ms("connect_timeout_ms", 10000, "Connection timeout of one request.", 1.0, 600000.0),
      ms("timeout_ms", 30000, "Total timeout of one request.", 1.0, 3600000.0),
      ms("max_redirects", 5, "Redirects followed before a request fails.", 0.0, 50.0),
      ms("max_attempts", 5, "Attempts of a request that fails with a timeout, a reset, 429 or 5xx.", 1.0, 100.0),
      ms("backoff_base_ms", 1000, "First retry delay; it doubles per attempt, with jitter.", 1.0, 3600000.0),
      ms("backoff_max_ms", 600000, "Longest retry delay.", 1.0, 86400000.0),
      ms("breaker_threshold", 5, "Consecutive failures that pause a host (circuit breaker).", 1.0, 1000.0),
      ms("breaker_cooldown_ms", 60000,
         "First pause of a host whose breaker opened; it doubles while the host "
         "keeps failing.",
         1.0, 86400000.0),
      OptionSpec{"respect_robots", OptionType::Bool, true, "Honour robots.txt (Disallow, Allow, Crawl-delay)."},
      ms("robots_ttl_ms", 3600000, "How long a robots.txt is cached.", 1000.0, 604800000.0),
      OptionSpec{"proxy", OptionType::String, std::string(),
                 "HTTP(S) proxy URL; empty: no proxy, whatever the "
                 "environment says."},
      OptionSpec{"ca_file", OptionType::String, std::string(),
                 "PEM file of certificate authorities trusted instead of the system's (an intranet CA); "
                 "certificates are always verified."},
  };
  return specs;
}

namespace {

// Builds the settings, or says what is wrong: `error.key` relative to the stage's options, with its line.
std::optional<FetchSettings> build_settings(const runtime::Options& options, const std::filesystem::path& state_dir,
                                            runtime::ConfigError& error) {
  FetchSettings settings;
  settings.max_bytes = static_cast<std::size_t>(options.get_int("max_bytes"));
  settings.max_docs_per_second = options.get_double("max_docs_per_second");
  settings.http.user_agent = options.get_string("user_agent");
  settings.http.connect_timeout = milliseconds(options.get_int("connect_timeout_ms"));
  settings.http.total_timeout = milliseconds(options.get_int("timeout_ms"));
  settings.http.max_bytes = settings.max_bytes;
  settings.http.max_redirects = static_cast<int>(options.get_int("max_redirects"));
  settings.http.proxy = options.get_string("proxy");
  if (const std::string& ca_file = options.get_string("ca_file"); !ca_file.empty()) {
    settings.http.ca_file = resolve(ca_file, state_dir).string();
  }
  settings.crawl.agent_token = agent_token(settings.http.user_agent);
  settings.crawl.max_in_flight = static_cast<int>(options.get_int("max_in_flight"));
  settings.crawl.per_host_in_flight = static_cast<int>(options.get_int("per_host_in_flight"));
  settings.crawl.per_host_interval = milliseconds(options.get_int("per_host_interval_ms"));
  settings.crawl.max_attempts = static_cast<int>(options.get_int("max_attempts"));
  settings.crawl.backoff_base = milliseconds(options.get_int("backoff_base_ms"));
  settings.crawl.backoff_max = milliseconds(options.get_int("backoff_max_ms"));
  settings.crawl.breaker_threshold = static_cast<int>(options.get_int("breaker_threshold"));
  settings.crawl.breaker_cooldown = milliseconds(options.get_int("breaker_cooldown_ms"));
  settings.crawl.respect_robots = options.get_bool("respect_robots");
  settings.crawl.robots_ttl = milliseconds(options.get_int("robots_ttl_ms"));

  if (const std::string& directory = options.get_string("directory"); !directory.empty()) {
    settings.directories.push_back(DirectorySource{
        "", resolve(directory, state_dir), dotted(options.get_list("extensions")), options.get_bool("recursive"),
        options.get_int("settle_ms"), milliseconds(options.get_int("poll_interval_ms"))});
  }
  std::vector<std::string> names;
  const auto& sources = options.get_sections("sources");
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const runtime::Options& source = sources[i];
    const std::string name = source.get_string("name");
    auto fail = [&](const std::string& key, const std::string& reason) {
      error = runtime::ConfigError{"", source.line(), source.column(), "sources[" + std::to_string(i) + "]." + key,
                                   "source " + name + ": " + reason};
      return std::nullopt;
    };
    for (const auto& other : names) {
      if (other == name) return fail("name", "another source has this name");
    }
    names.push_back(name);
    if (!source.get_bool("enabled")) continue;
    if (const std::string& language = source.get_string("language"); !language.empty()) {
      settings.source_languages[name] = language;
    }
    const std::string kind = source.get_string("kind");
    const std::string url = source.get_string("url");
    const std::string path = source.get_string("path");
    if (kind == "directory" || kind == "warc") {
      if (path.empty()) return fail("path", "kind " + kind + " needs a path");
      if (kind == "directory") {
        settings.directories.push_back(
            DirectorySource{name, resolve(path, state_dir), dotted(source.get_list("extensions")),
                            source.get_bool("recursive"), source.get_int("settle_ms"),
                            milliseconds(source.get_int("interval_ms") > 0 ? source.get_int("interval_ms")
                                                                           : options.get_int("poll_interval_ms"))});
      } else {
        settings.warcs.push_back(WarcSource{name, resolve(path, state_dir)});
      }
      continue;
    }
    if (!is_http_url(url)) {
      return fail("url", "kind " + kind + " needs an absolute http(s) URL, found '" + url + "'");
    }
    WebSource web;
    web.name = name;
    web.kind = kind;
    web.url = url;
    web.interval = milliseconds(source.get_int("interval_ms") > 0 ? source.get_int("interval_ms") : kWebInterval);
    web.jitter = source.get_double("jitter");
    web.allow_private = source.get_bool("allow_private");
    web.link_regex = source.get_string("link_regex");
    web.link_xpath = source.get_string("link_xpath");
    if (const std::string& since = source.get_string("since"); !since.empty()) {
      web.since = normalise_date(since);
      if (web.since.empty()) {
        return fail("since", "'" + since + "' is not a date (YYYY-MM-DD or ISO 8601)");
      }
    }
    if (kind == "listing" && web.link_regex.empty() && web.link_xpath.empty()) {
      return fail("link_regex", "kind listing needs link_regex or link_xpath");
    }
    if (const LinkPattern pattern = compile_link_pattern(web.link_regex); !pattern.error.empty()) {
      return fail("link_regex", "not a valid regex: " + pattern.error);
    }
    settings.web.push_back(std::move(web));
  }
  if (settings.web.empty() && settings.directories.empty() && settings.warcs.empty()) {
    error = runtime::ConfigError{"", 0, 0, "sources", "no source: set `directory` or list `sources` (enabled)"};
    return std::nullopt;
  }
  return settings;
}

}  // namespace

runtime::Result<FetchSettings> fetch_settings_from(const runtime::Options& options,
                                                   const std::filesystem::path& state_dir) {
  runtime::ConfigError error;
  auto settings = build_settings(options, state_dir, error);
  if (!settings) {
    return runtime::Status::error(error.key + ": " + error.reason +
                                  (error.line > 0 ? " (line " + std::to_string(error.line) + ")" : ""));
  }
  return std::move(*settings);
}

std::vector<runtime::OptionProblem> check_fetch_options(const runtime::Options& options,
                                                        const runtime::Options& /*pipeline*/) {
  runtime::ConfigError error;
  if (build_settings(options, "/", error)) return {};
  return {runtime::OptionProblem{error.key, error.reason, error.line, error.column}};
}

FetchSettings command_line_settings(const std::vector<std::string>& urls, bool allow_private,
                                    std::chrono::milliseconds interval) {
  FetchSettings settings;
  settings.http.user_agent = kDefaultAgent;
  settings.crawl.agent_token = agent_token(kDefaultAgent);
  settings.crawl.per_host_interval = milliseconds(250);
  for (std::size_t i = 0; i < urls.size(); ++i) {
    WebSource web;
    web.name = host_of(urls[i]).empty() ? "source" + std::to_string(i + 1) : host_of(urls[i]);
    for (std::size_t j = 0; j < i; ++j) {
      if (settings.web[j].name == web.name) web.name += "-" + std::to_string(i + 1);
    }
    web.url = urls[i];
    web.interval = interval;
    web.allow_private = allow_private;
    settings.web.push_back(std::move(web));
  }
  return settings;
}

}  // namespace vnawire::fetch
