// The fetch engine against a real HTTP server on 127.0.0.1 (the replay server, started by each test).
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "daemon/replay_server.h"
#include "stages/fetch/fetch_config.h"
#include "stages/fetch/fetch_engine.h"

namespace vnawire::fetch {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

class Scratch {
 public:
  Scratch() {
    char pattern[] = "/tmp/vnawire-web-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    std::filesystem::create_directories(dir_ / "site");
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path site() const { return dir_ / "site"; }
  std::filesystem::path state() const { return dir_ / "state"; }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(site() / name, std::ios::binary) << bytes;
  }

 private:
  std::filesystem::path dir_;
};

std::string dispatch(int n) {
  return "Test dispatch number " + std::to_string(n) + "\n\nHanoi (VNA) - A delegation met partners on day " +
         std::to_string(n) + " to discuss trade, ports and training.\n\n-VNA\n";
}

// Runs a FetchEngine in the test's thread, collecting what it emits.
class Harness final : public runtime::Emitter {
 public:
  Harness(FetchSettings settings, const std::filesystem::path& state_dir) {
    FetchHooks hooks;
    hooks.count = [this](const std::string& counter, std::uint64_t n) { counters[counter] += n; };
    hooks.warn = [this](const std::string& source, const std::string& message) {
      warnings.push_back(source + ": " + message);
    };
    hooks.dead_letter = [this](const std::string& reason, const std::string& id, const std::string&) {
      dead_letters.push_back(id + ": " + reason);
    };
    engine = std::make_unique<FetchEngine>(std::move(settings), "fetch", state_dir, std::move(hooks));
    auto status = engine->start();
    EXPECT_TRUE(status.ok()) << status.message();
  }
  void emit(runtime::Document document) override {
    documents.push_back(document.record);
    engine->on_sent(document);
  }
  // Drives the engine until `done` holds or the deadline passes; returns whether `done` held.
  template <typename Done>
  bool run_until(Done done, milliseconds deadline = milliseconds(15000)) {
    const auto until = Steady::now() + deadline;
    while (Steady::now() < until) {
      if (done()) return true;
      auto wait = engine->produce(*this, 64);
      if (wait.count() > 0) ::usleep(static_cast<useconds_t>(std::min<std::int64_t>(wait.count(), 20)) * 1000);
    }
    return done();
  }
  bool run_to_finish(milliseconds deadline = milliseconds(15000)) {
    return run_until([&] { return engine->finished(); }, deadline);
  }
  std::set<std::string> ids() const {
    std::set<std::string> out;
    for (const auto& record : documents) out.insert(record["id"].get<std::string>());
    return out;
  }
  std::uint64_t counter(const std::string& name) const {
    auto it = counters.find(name);
    return it == counters.end() ? 0 : it->second;
  }
  bool dead_lettered_with(const std::string& text) const {
    for (const auto& line : dead_letters) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::unique_ptr<FetchEngine> engine;
  std::vector<nlohmann::json> documents;
  std::map<std::string, std::uint64_t> counters;
  std::vector<std::string> warnings;
  std::vector<std::string> dead_letters;
};

FetchSettings web_settings(const std::string& url, const std::string& kind, milliseconds interval = milliseconds(200)) {
  FetchSettings settings;
  WebSource source;
  source.name = "replay";
  source.kind = kind;
  source.url = url;
  source.interval = interval;
  source.jitter = 0;
  source.allow_private = true;
  settings.web.push_back(source);
  settings.crawl.per_host_interval = milliseconds(0);
  settings.crawl.per_host_in_flight = 8;
  settings.crawl.backoff_base = milliseconds(50);
  settings.http.total_timeout = milliseconds(5000);
  return settings;
}

std::unique_ptr<replay::ReplayServer> serve(const Scratch& scratch, replay::ReplaySettings settings = {}) {
  settings.directory = scratch.site();
  auto server = std::make_unique<replay::ReplayServer>(settings);
  auto status = server->start();
  EXPECT_TRUE(status.ok()) << status.message();
  return server;
}

// A replay server whose answers go wrong as the fault specs say (docs/replay.md).
std::unique_ptr<replay::ReplayServer> serve_with_faults(const Scratch& scratch, std::vector<std::string> specs) {
  replay::ReplaySettings settings;
  for (const auto& spec : specs) {
    auto fault = replay::parse_fault(spec);
    EXPECT_TRUE(fault.ok()) << spec;
    if (fault) settings.faults.push_back(*fault);
  }
  settings.threads = 2;
  return serve(scratch, settings);
}

TEST(FetchWeb, DiscoversASiteAndFetchesEveryDispatchOnce) {
  Scratch scratch;
  for (int i = 0; i < 6; ++i) scratch.write("d" + std::to_string(i) + ".txt", dispatch(i));
  auto server = serve(scratch);
  Harness harness(web_settings(server->base_url() + "/", "site"), scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  EXPECT_EQ(harness.ids().size(), 6u);
  EXPECT_EQ(harness.documents.size(), 6u);  // listed by the feed and by the sitemaps, fetched once
  for (const auto& record : harness.documents) {
    EXPECT_EQ(record["content_type"], "text/plain");
    EXPECT_NE(record["body"].get<std::string>().find("Test dispatch number"), std::string::npos);
    EXPECT_EQ(record["fetch"]["version"], 1);
    EXPECT_EQ(record["url"].get<std::string>().rfind(server->base_url() + "/articles/", 0), 0u);
  }
  EXPECT_EQ(server->requests_for("/robots.txt"), 1u);
}

// Both language hints for langid: the source's configured language and the news sitemap's (the replay's
// declares fr), kept apart so that langid can rank them.
// A feed of thousands of items is listed a slice at a time, so that one pump() never holds the stage loop (and
// its heartbeats) for the whole feed; every item is listed in the end.
TEST(FetchWeb, ALongFeedIsListedASliceAtATime) {
  Scratch scratch;
  constexpr int kItems = 2600;
  for (int i = 0; i < kItems; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "d%05d.txt", i);
    scratch.write(name, dispatch(i));
  }
  auto server = serve(scratch);
  Harness harness(web_settings(server->base_url() + "/rss.xml", "feed", milliseconds(3600000)), scratch.state());
  ASSERT_TRUE(harness.run_until([&] { return harness.counter("replay.items_listed") > 0; }));
  EXPECT_EQ(harness.counter("replay.items_listed"), 2000u) << "the first pump listed more than a slice";
  ASSERT_TRUE(harness.run_until([&] { return harness.counter("replay.items_listed") >= kItems; }));
  EXPECT_EQ(harness.counter("replay.items_listed"), static_cast<std::uint64_t>(kItems));
  EXPECT_EQ(harness.counter("replay.items_new"), static_cast<std::uint64_t>(kItems));
}

TEST(FetchWeb, TheSourcesAndTheSitemapsLanguagesGoIntoEachRecord) {
  Scratch scratch;
  for (int i = 0; i < 2; ++i) scratch.write("d" + std::to_string(i) + ".txt", dispatch(i));
  auto server = serve(scratch);
  auto settings = web_settings(server->base_url() + "/sitemap-news.xml", "sitemap");
  settings.source_languages["replay"] = "vi";
  Harness harness(settings, scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  ASSERT_EQ(harness.documents.size(), 2u);
  for (const auto& record : harness.documents) {
    EXPECT_EQ(record["fetch"]["feed_language"], "fr");
    EXPECT_EQ(record["fetch"]["language"], "vi");
  }
}

TEST(FetchWeb, AListingPageGivesTheLinksItsPatternMatches) {
  Scratch scratch;
  for (int i = 0; i < 4; ++i) scratch.write("l" + std::to_string(i) + ".txt", dispatch(i));
  scratch.write("notes.html", "<html><body><p>Not an article.</p></body></html>");
  auto server = serve(scratch);
  auto settings = web_settings(server->base_url() + "/", "listing");
  settings.web[0].link_regex = "/articles/l[0-9]+\\.txt$";
  Harness harness(settings, scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  EXPECT_EQ(harness.ids().size(), 4u);
  EXPECT_EQ(server->requests_for("/articles/notes.html"), 0u);
  EXPECT_EQ(server->requests_for("/rss.xml"), 0u);
}

TEST(FetchWeb, SinceBoundsTheBackfill) {
  Scratch scratch;
  for (int i = 0; i < 3; ++i) scratch.write("s" + std::to_string(i) + ".txt", dispatch(i));
  auto server = serve(scratch);
  auto settings = web_settings(server->base_url() + "/sitemap-news.xml", "sitemap");
  settings.web[0].since = "2999-01-01T00:00:00Z";  // every listed date is older
  Harness harness(settings, scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  EXPECT_TRUE(harness.documents.empty());
  EXPECT_EQ(harness.counter("replay.items_before_since"), 3u);
}

TEST(FetchWeb, CrawlDelayFromRobotsSpacesTheRequests) {
  Scratch scratch;
  for (int i = 0; i < 4; ++i) scratch.write("c" + std::to_string(i) + ".txt", dispatch(i));
  replay::ReplaySettings replay_settings;
  replay_settings.robots_crawl_delay = 0.2;
  auto server = serve(scratch, replay_settings);
  Harness harness(web_settings(server->base_url() + "/rss.xml", "feed"), scratch.state());
  const auto start = Steady::now();
  ASSERT_TRUE(harness.run_to_finish());
  const auto took = std::chrono::duration_cast<milliseconds>(Steady::now() - start);
  ASSERT_EQ(harness.documents.size(), 4u);
  // The delay is known once robots.txt is read: the feed and four articles then leave at least 200 ms apart.
  EXPECT_GE(took.count(), 4 * 200 - 20);
}

TEST(FetchWeb, PerHostConcurrencyIsBounded) {
  Scratch scratch;
  for (int i = 0; i < 8; ++i) scratch.write("p" + std::to_string(i) + ".txt", dispatch(i));
  auto server = serve_with_faults(scratch, {"delay=150@/articles/"});
  auto settings = web_settings(server->base_url() + "/rss.xml", "feed");
  settings.crawl.per_host_in_flight = 3;
  settings.crawl.max_in_flight = 16;
  Harness harness(settings, scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  EXPECT_EQ(harness.documents.size(), 8u);
  EXPECT_EQ(server->max_in_flight(), 3u);
}

TEST(FetchWeb, ACircuitBreakerPausesAFailingHostAndRecovers) {
  Scratch scratch;
  for (int i = 0; i < 3; ++i) scratch.write("b" + std::to_string(i) + ".txt", dispatch(i));
  auto server = serve_with_faults(scratch, {"status=500@/articles/*4"});
  auto settings = web_settings(server->base_url() + "/rss.xml", "feed");
  settings.crawl.breaker_threshold = 3;
  settings.crawl.breaker_cooldown = milliseconds(300);
  settings.crawl.backoff_base = milliseconds(10);
  settings.crawl.max_attempts = 10;
  Harness harness(settings, scratch.state());
  ASSERT_TRUE(harness.run_until([&] { return harness.documents.size() == 3; }));
  EXPECT_GE(harness.counter("breaker_opened"), 1u);
  EXPECT_TRUE(harness.dead_letters.empty());
}

TEST(FetchWeb, NewItemsAreFetchedWithinOneIntervalAndNotModifiedCostsNothing) {
  Scratch scratch;
  for (int i = 0; i < 3; ++i) scratch.write("d" + std::to_string(i) + ".txt", dispatch(i));
  replay::ReplaySettings replay_settings;
  replay_settings.release_every = milliseconds(3600000);  // released by the test only
  auto server = serve(scratch, replay_settings);
  // Long enough beside the slack below that a loaded machine (ctest -j2 beside integration tests took 743 ms
  // against an interval of 300) still tells one interval from two.
  const milliseconds interval(1000);
  Harness harness(web_settings(server->base_url() + "/rss.xml", "feed", interval), scratch.state());
  ASSERT_TRUE(harness.run_until([&] { return harness.documents.size() == server->released(); }));
  const auto before = harness.documents.size();
  // Polls with nothing new: the feed answers 304 and nothing is emitted again.
  ASSERT_TRUE(harness.run_until([&] { return harness.counter("replay.not_modified") >= 2; }));
  EXPECT_EQ(harness.documents.size(), before);

  ASSERT_TRUE(server->release_next());
  const auto released_at = Steady::now();
  ASSERT_TRUE(harness.run_until([&] { return harness.documents.size() == before + 1; }));
  const auto took = std::chrono::duration_cast<milliseconds>(Steady::now() - released_at);
  EXPECT_LE(took.count(), interval.count() + 600) << "a new item waited more than one poll interval";
}

TEST(FetchWeb, ServerErrorsAreRetriedThenSucceed) {
  Scratch scratch;
  scratch.write("flaky.txt", dispatch(1));
  auto server = serve_with_faults(scratch, {"status=503@/articles/flaky*2"});
  Harness harness(web_settings(server->base_url() + "/rss.xml", "feed"), scratch.state());
  ASSERT_TRUE(harness.run_until([&] { return harness.documents.size() == 1; }));
  EXPECT_EQ(server->requests_for("/articles/flaky.txt"), 3u);
  EXPECT_GE(harness.counter("retries"), 2u);
  EXPECT_TRUE(harness.dead_letters.empty());
}

TEST(FetchWeb, RetryAfterIsRespected) {
  Scratch scratch;
  scratch.write("busy.txt", dispatch(2));
  auto server = serve_with_faults(scratch, {"retry-after=1@/articles/busy*1"});
  Harness harness(web_settings(server->base_url() + "/rss.xml", "feed"), scratch.state());
  ASSERT_TRUE(harness.run_until([&] { return server->requests_for("/articles/busy.txt") == 1; }));
  const auto refused_at = Steady::now();
  ASSERT_TRUE(harness.run_until([&] { return harness.documents.size() == 1; }));
  const auto waited = std::chrono::duration_cast<milliseconds>(Steady::now() - refused_at);
  EXPECT_GE(waited.count(), 950) << "the retry came before Retry-After: 1";
  EXPECT_LE(waited.count(), 3000);
  EXPECT_EQ(harness.counter("retry_after_honoured"), 1u);
}

TEST(FetchWeb, RedirectLoopsTimeoutsAndOversizedBodiesAreDeadLetteredWithTheReason) {
  Scratch scratch;
  scratch.write("loop.txt", dispatch(3));
  scratch.write("slow.txt", dispatch(4));
  scratch.write("huge.txt", dispatch(5));
  scratch.write("bomb.txt", dispatch(6));
  scratch.write("fine.txt", dispatch(7));
  auto server = serve_with_faults(scratch, {"redirect-loop@/articles/loop", "delay=3000@/articles/slow",
                                            "oversize=8@/articles/huge", "gzip-bomb=64@/articles/bomb"});
  auto settings = web_settings(server->base_url() + "/rss.xml", "feed");
  // Under the slow URL's 3 s delay with room to spare: on a loaded machine the oversized and gzip-bomb
  // bodies must reach max_bytes before the timeout, or they are dead-lettered as timeouts instead.
  settings.http.total_timeout = milliseconds(1500);
  settings.http.max_bytes = 1 << 20;
  settings.max_bytes = 1 << 20;
  settings.crawl.max_attempts = 2;
  Harness harness(settings, scratch.state());
  ASSERT_TRUE(harness.run_until([&] { return harness.dead_letters.size() == 4 && harness.documents.size() == 1; }))
      << harness.dead_letters.size() << " dead letters";
  EXPECT_TRUE(harness.dead_lettered_with("redirects")) << ::testing::PrintToString(harness.dead_letters);
  EXPECT_TRUE(harness.dead_lettered_with("Timeout")) << ::testing::PrintToString(harness.dead_letters);
  EXPECT_TRUE(harness.dead_lettered_with("/articles/huge.txt")) << ::testing::PrintToString(harness.dead_letters);
  EXPECT_TRUE(harness.dead_lettered_with("/articles/bomb.txt")) << ::testing::PrintToString(harness.dead_letters);
  EXPECT_EQ(harness.counter("replay.errors.too_large"), 2u);
  EXPECT_EQ(harness.documents[0]["url"], server->base_url() + "/articles/fine.txt");
}

TEST(FetchWeb, AMalformedFeedIsReportedWithTheSourceNameAndPollingGoesOn) {
  Scratch scratch;
  scratch.write("broken.html", "<?xml version=\"1.0\"?>\n<rss><channel><item><title>cut");
  auto server = serve(scratch);
  Harness harness(web_settings(server->base_url() + "/articles/broken.html", "feed", milliseconds(100)),
                  scratch.state());
  ASSERT_TRUE(harness.run_until([&] { return harness.counter("replay.errors.parse") >= 3; }));
  EXPECT_GE(harness.counter("replay.polls"), 3u);
  ASSERT_FALSE(harness.warnings.empty());
  EXPECT_EQ(harness.warnings[0].rfind("replay: malformed feed", 0), 0u) << harness.warnings[0];
}

TEST(FetchWeb, RobotsDisallowIsRespected) {
  Scratch scratch;
  scratch.write("open.txt", dispatch(8));
  scratch.write("private-notes.txt", dispatch(9));
  replay::ReplaySettings replay_settings;
  replay_settings.robots_disallow = {"/articles/private"};
  auto server = serve(scratch, replay_settings);
  Harness harness(web_settings(server->base_url() + "/rss.xml", "feed"), scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  EXPECT_EQ(harness.documents.size(), 1u);
  EXPECT_EQ(server->requests_for("/articles/private-notes.txt"), 0u);
  EXPECT_TRUE(harness.dead_lettered_with("disallowed by robots.txt"));
  EXPECT_EQ(harness.counter("robots_disallowed"), 1u);
}

TEST(FetchWeb, LegacyCharsetsComeOutAsUtf8) {
  Scratch scratch;
  // "Déclaration signée à Hanoï" in windows-1252, declared in the page, then undeclared in a text file.
  const std::string cp1252 = "D\xE9" "claration sign\xE9" "e \xE0 Hano\xEF";
  scratch.write("declared.html", "<html><head><meta charset=\"windows-1252\"><title>t</title></head><body><p>" +
                                     cp1252 + "</p></body></html>");
  scratch.write("undeclared.txt", "Communiqu\xE9 officiel\n\n" + cp1252 + " et \xE9" "tudes \xE9" "conomiques r\xE9" "gionales.\n");
  auto server = serve(scratch);
  Harness harness(web_settings(server->base_url() + "/rss.xml", "feed"), scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  ASSERT_EQ(harness.documents.size(), 2u);
  for (const auto& record : harness.documents) {
    const std::string body = record["body"].get<std::string>();
    EXPECT_NE(body.find("Déclaration signée à Hanoï"), std::string::npos) << body;
  }
}

TEST(FetchWeb, ARestartMidRunEmitsNoDuplicateAndLosesNothing) {
  Scratch scratch;
  for (int i = 0; i < 40; ++i) scratch.write("r" + std::to_string(100 + i) + ".txt", dispatch(i));
  auto server = serve(scratch);
  std::set<std::string> seen;
  std::size_t emitted = 0;
  {
    auto settings = web_settings(server->base_url() + "/rss.xml", "feed");
    settings.crawl.per_host_in_flight = 1;
    Harness first(settings, scratch.state());
    ASSERT_TRUE(first.run_until([&] { return first.documents.size() >= 15; }));
    for (const auto& record : first.documents) seen.insert(record["id"].get<std::string>());
    emitted += first.documents.size();
    // Stopped mid-run without flush() (a SIGKILL of the real process is tests/integration/fetch_test.cc).
  }
  Harness second(web_settings(server->base_url() + "/rss.xml", "feed"), scratch.state());
  ASSERT_TRUE(second.run_to_finish());
  for (const auto& record : second.documents) {
    EXPECT_TRUE(seen.insert(record["id"].get<std::string>()).second) << "emitted twice: " << record["url"];
  }
  emitted += second.documents.size();
  EXPECT_EQ(seen.size(), 40u);
  EXPECT_EQ(emitted, 40u);
}

TEST(FetchWeb, AChangedArticleIsEmittedAgainAsANewVersion) {
  Scratch scratch;
  scratch.write("story.txt", dispatch(10));
  auto server = serve(scratch);
  Harness harness(web_settings(server->base_url() + "/sitemap-news.xml", "sitemap", milliseconds(100)),
                  scratch.state());
  ASSERT_TRUE(harness.run_until([&] { return harness.documents.size() == 1; }));
  scratch.write("story.txt", dispatch(10) + "\nCorrection: the meeting ended a day later.\n");
  const auto later = std::filesystem::file_time_type::clock::now() + std::chrono::seconds(5);
  std::filesystem::last_write_time(scratch.site() / "story.txt", later);
  ASSERT_TRUE(harness.run_until([&] { return harness.documents.size() == 2; }));
  EXPECT_EQ(harness.documents[1]["id"], harness.documents[0]["id"]);
  EXPECT_EQ(harness.documents[1]["fetch"]["version"], 2);
  EXPECT_NE(harness.documents[1]["body"].get<std::string>().find("Correction"), std::string::npos);
}

TEST(FetchWeb, PrivateAddressesAreRefusedUnlessAllowed) {
  Scratch scratch;
  scratch.write("a.txt", dispatch(11));
  auto server = serve(scratch);
  auto settings = web_settings(server->base_url() + "/rss.xml", "feed");
  settings.web[0].allow_private = false;
  Harness harness(settings, scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  EXPECT_TRUE(harness.documents.empty());
  EXPECT_EQ(server->requests_total(), 0u);
  ASSERT_FALSE(harness.warnings.empty());
  EXPECT_NE(harness.warnings.back().find("loopback, private or link-local"), std::string::npos)
      << harness.warnings.back();
}

// `openssl s_server` on 127.0.0.1 with a self-signed certificate made for the test: a real TLS peer.
class TlsServer {
 public:
  explicit TlsServer(const std::filesystem::path& dir) {
    cert_ = dir / "cert.pem";
    const std::string make = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
                             "subjectAltName=IP:127.0.0.1 -keyout " + (dir / "key.pem").string() + " -out " +
                             cert_.string() + " >/dev/null 2>&1";
    if (std::system(make.c_str()) != 0) return;
    port_ = free_port();
    const std::string accept = "127.0.0.1:" + std::to_string(port_);
    const std::string key = (dir / "key.pem").string();
    const std::string cert = cert_.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(), "-cert", cert.c_str(),
               "-key", key.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Whether it accepts connections (waits up to 10 s for it to start).
  bool ready() const {
    if (pid_ <= 0) return false;
    for (int i = 0; i < 500; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<std::uint16_t>(port_));
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
      ::close(fd);
      if (connected) return true;
      ::usleep(20000);
    }
    return false;
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/rss.xml"; }
  const std::filesystem::path& cert() const { return cert_; }

 private:
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }
  std::filesystem::path cert_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST(FetchWeb, HttpsCertificatesAreVerified) {
  Scratch scratch;
  TlsServer server(scratch.site());
  ASSERT_TRUE(server.ready()) << "openssl s_server did not start";
  {
    // A self-signed certificate is not trusted: a TLS error at the first request (robots.txt), not retried,
    // and the feed is not fetched.
    Harness harness(web_settings(server.url(), "feed"), scratch.state());
    ASSERT_TRUE(harness.run_to_finish());
    EXPECT_EQ(harness.counter("robots.errors.tls"), 1u);
    EXPECT_EQ(harness.counter("replay.requests"), 0u);
    ASSERT_EQ(harness.warnings.size(), 1u);
    EXPECT_NE(harness.warnings[0].find("certificate"), std::string::npos) << harness.warnings[0];
  }
  // Trusted through ca_file, the TLS session works: s_server's status page is then read (and is no feed).
  auto settings = web_settings(server.url(), "feed");
  settings.http.ca_file = server.cert().string();
  Harness harness(settings, scratch.state());
  ASSERT_TRUE(harness.run_to_finish());
  EXPECT_EQ(harness.counter("robots.errors.tls"), 0u);
  EXPECT_EQ(harness.counter("replay.errors.parse"), 1u) << ::testing::PrintToString(harness.warnings);
}

// A WARC file written here: two responses (one gzip-encoded payload), a request record, and a redirect.
std::string warc_record(const std::string& type, const std::string& uri, const std::string& block) {
  return "WARC/1.0\r\nWARC-Type: " + type + "\r\nWARC-Target-URI: " + uri +
         "\r\nWARC-Date: 2026-11-20T08:00:00Z\r\nWARC-Record-ID: <urn:uuid:" + std::to_string(block.size()) +
         "-" + type + ">\r\nContent-Type: application/http; msgtype=" + (type == "request" ? "request" : "response") +
         "\r\nContent-Length: " + std::to_string(block.size()) + "\r\n\r\n" + block + "\r\n\r\n";
}

TEST(FetchWeb, AWarcFileIsReadCompletelyAndNotAgainAfterARestart) {
  Scratch scratch;
  std::string warc;
  for (int i = 0; i < 5; ++i) {
    const std::string body = "<html><body><p>" + dispatch(i) + "</p></body></html>";
    warc += warc_record("response", "https://example.invalid/news/" + std::to_string(i) + ".html",
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
    warc += warc_record("request", "https://example.invalid/news/" + std::to_string(i) + ".html",
                        "GET /news/" + std::to_string(i) + ".html HTTP/1.1\r\nHost: example.invalid\r\n\r\n");
  }
  warc += warc_record("response", "https://example.invalid/moved", "HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n");
  std::filesystem::create_directories(scratch.site());
  std::ofstream(scratch.site() / "crawl.warc", std::ios::binary) << warc;

  FetchSettings settings;
  settings.warcs.push_back(WarcSource{"archive", scratch.site() / "crawl.warc"});
  const std::uint64_t size = warc.size();
  {
    Harness harness(settings, scratch.state());
    // The backfill's progress: bytes of the file read, of its size.
    EXPECT_EQ(harness.engine->progress().total, size);
    EXPECT_EQ(harness.engine->progress().done, 0u);
    ASSERT_TRUE(harness.run_to_finish());
    EXPECT_EQ(harness.engine->progress().done, size);
    EXPECT_EQ(harness.documents.size(), 5u);
    EXPECT_EQ(harness.counter("archive.records"), 6u);  // response records; requests are skipped
    EXPECT_EQ(harness.counter("archive.files_done"), 1u);
    ASSERT_FALSE(harness.documents.empty());
    EXPECT_EQ(harness.documents[0]["content_type"], "text/html");
    EXPECT_EQ(harness.documents[0]["url"], "https://example.invalid/news/0.html");
  }
  Harness again(settings, scratch.state());
  ASSERT_TRUE(again.run_to_finish());
  EXPECT_TRUE(again.documents.empty());
  EXPECT_EQ(again.engine->progress().done, size);  // read by the earlier run: done, not to do again
  EXPECT_EQ(again.engine->progress().total, size);
}

}  // namespace
}  // namespace vnawire::fetch
