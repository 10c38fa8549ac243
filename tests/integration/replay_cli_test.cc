// `vnawire replay` as a user runs it: a real child process on a free port, stopped by SIGTERM; bad options exit 2.
#include <curl/curl.h>
#include <signal.h>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

std::size_t keep(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// GETs `url`; returns the HTTP status and fills `body`.
long fetch(const std::string& url, std::string& body) {
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return status;
}

TEST(ReplayCli, ServesTheFolderUntilSigterm) {
  TempDir dir;
  std::filesystem::create_directory(dir / "site");
  write_file(dir / "site" / "one.txt", generated_dispatch(1));
  write_file(dir / "site" / "two.txt", generated_dispatch(2));
  const int port = free_port_range(1);
  ASSERT_GT(port, 0);
  const std::string site = (dir / "site").string();
  Process replay({kBinary, "replay", "--dir", site, "--listen", "127.0.0.1:" + std::to_string(port), "--log-level",
                  "debug", "--disallow", "/private/"},
                 dir.path());
  const std::string serving =
      "replay: serving 2 file(s) from " + site + " at http://127.0.0.1:" + std::to_string(port) + "/\n";
  ASSERT_TRUE(wait_until([&] { return replay.output().find('\n') != std::string::npos; }, seconds(20)))
      << replay.errors();
  EXPECT_EQ(replay.output(), serving);

  std::string rss;
  EXPECT_EQ(fetch("http://127.0.0.1:" + std::to_string(port) + "/rss.xml", rss), 200);
  EXPECT_NE(rss.find("<rss version=\"2.0\""), std::string::npos) << rss;
  EXPECT_NE(rss.find("/articles/one.txt</link>"), std::string::npos) << rss;
  std::string robots;
  EXPECT_EQ(fetch("http://127.0.0.1:" + std::to_string(port) + "/robots.txt", robots), 200);
  EXPECT_NE(robots.find("Disallow: /private/\n"), std::string::npos) << robots;

  replay.signal(SIGTERM);
  EXPECT_EQ(replay.wait(seconds(20)), 0) << replay.errors();
  EXPECT_NE(replay.errors().find("GET /rss.xml -> 200"), std::string::npos) << replay.errors();
}

TEST(ReplayCli, SigintStopsItToo) {
  TempDir dir;
  std::filesystem::create_directory(dir / "empty");
  const int port = free_port_range(1);
  Process replay(
      {kBinary, "replay", "--dir", (dir / "empty").string(), "--listen", "127.0.0.1:" + std::to_string(port)},
      dir.path());
  ASSERT_TRUE(wait_until([&] { return replay.output().find("serving 0 file(s)") != std::string::npos; }, seconds(20)))
      << replay.errors();
  replay.signal(SIGINT);
  EXPECT_EQ(replay.wait(seconds(20)), 0) << replay.errors();
}

TEST(ReplayCli, BadOptionsExitTwoWithAMessage) {
  TempDir dir;
  const std::string folder = dir.path().string();
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--dir", folder, "--fault", "boom@/"}, "bad fault \"boom@/\": unknown kind \"boom\""},
      {{"--dir", folder, "--fault", "status=500"}, "bad fault \"status=500\": no @PREFIX"},
      {{"--dir", folder, "--listen", "example.org:80"}, "\"example.org\" is not an IP address"},
      {{"--dir", folder, "--listen", "127.0.0.1"}, "bad listen address \"127.0.0.1\": no :PORT"},
      {{"--dir", (dir / "missing").string()}, "no such folder: " + (dir / "missing").string()},
      {{"--dir", folder, "--every", "soon"}, "--every takes a number of seconds"},
      {{"--dir", folder, "--threads", "0"}, "--threads takes a whole number from 1 to 64"},
      {{"--listen", "127.0.0.1:1"}, "usage: vnawire replay --dir DIR"},
  };
  for (const auto& [options, message] : cases) {
    std::vector<std::string> args = {kBinary, "replay"};
    args.insert(args.end(), options.begin(), options.end());
    Process replay(args, dir.path());
    EXPECT_EQ(replay.wait(seconds(20)), 2) << message;
    EXPECT_NE(replay.errors().find(message), std::string::npos) << replay.errors();
  }
}

TEST(ReplayCli, APortInUseExitsTwo) {
  TempDir dir;
  const int port = free_port_range(1);
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  Process first({kBinary, "replay", "--dir", dir.path().string(), "--listen", listen}, dir.path());
  ASSERT_TRUE(wait_until([&] { return first.output().find("serving") != std::string::npos; }, seconds(20)))
      << first.errors();
  Process second({kBinary, "replay", "--dir", dir.path().string(), "--listen", listen}, dir.path());
  EXPECT_EQ(second.wait(seconds(20)), 2);
  EXPECT_NE(second.errors().find("cannot listen on " + listen), std::string::npos) << second.errors();
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(seconds(20)), 0);
}

}  // namespace
}  // namespace vnawire::testing
