// The daemon's metrics endpoint and `vnawire status`, against a real pipeline of real processes, over real sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <sstream>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

struct Answer {
  int status = 0;  // 0: no answer
  std::string body;
};

// One request over a plain socket; the daemon closes the connection after its answer.
Answer http(int port, const std::string& method, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Answer answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
    (void)!::write(fd, request.data(), request.size());
    std::string raw;
    char buffer[8192];
    ssize_t got = 0;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0) raw.append(buffer, static_cast<std::size_t>(got));
    if (raw.rfind("HTTP/1.1 ", 0) == 0) {
      answer.status = std::stoi(raw.substr(9, 3));
      const auto body = raw.find("\r\n\r\n");
      if (body != std::string::npos) answer.body = raw.substr(body + 4);
    }
  }
  ::close(fd);
  return answer;
}

// The value of the sample `series` (name and labels exactly as exposed), or -1 when it is not there.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// The port the daemon logged it serves metrics on (it was given port 0), or 0 before it did.
int logged_port(const Process& daemon) {
  static const std::regex pattern(R"(metrics on http://127\.0\.0\.1:(\d+)/metrics)");
  std::smatch match;
  const std::string log = daemon.errors();
  return std::regex_search(log, match, pattern) ? std::stoi(match[1]) : 0;
}

std::string metrics_yaml(const TempDir& dir, const std::string& address) {
  // A replica killed below stays down for 3 s: long enough for /healthz to be seen saying so.
  return whole_pipeline_yaml(dir, "", "  metrics_address: \"" + address + "\"\n  restart_backoff_ms: 3000\n");
}

TEST(Metrics, TheDaemonServesCountsThatMatchTheSinkAndHealthThatFollowsTheReplicas) {
  TempDir dir;
  write_inbox(dir, 0, 40);
  write_file(dir / "pipeline.yaml", metrics_yaml(dir, "127.0.0.1:0"));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  int port = 0;
  ASSERT_TRUE(wait_until([&] { return (port = logged_port(daemon)) > 0; }, seconds(30))) << daemon.errors();
  ASSERT_TRUE(wait_until([&] { return http(port, "GET", "/readyz").status == 200; }, seconds(30)));
  const auto sink = dir / "state/out.jsonl";

  // More documents while the first ones flow: the counts must keep up with them.
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 1; }, seconds(60))) << daemon.errors();
  write_inbox(dir, 40, 80);
  const Answer during = http(port, "GET", "/metrics");
  ASSERT_EQ(during.status, 200);
  EXPECT_NE(during.body.find("# TYPE vnawire_processing_seconds histogram"), std::string::npos);
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 80; }, seconds(60))) << daemon.errors();

  // The sink's count reaches what it stored (generated dispatches have a few near copies, dropped by dedupe).
  std::string text;
  ASSERT_TRUE(wait_until(
      [&] {
        text = http(port, "GET", "/metrics").body;
        return sample(text, R"(vnawire_documents_out_total{stage="out",replica="0"})") ==
                   static_cast<double>(count_lines(sink)) &&
               sample(text, R"(vnawire_documents_received_total{stage="dedupe",replica="0"})") == 80;
      },
      seconds(20)))
      << text;
  const double dropped =
      sample(text, R"(vnawire_documents_dropped_total{stage="dedupe",replica="0",reason="near_duplicate"})");
  EXPECT_EQ(sample(text, R"(vnawire_documents_out_total{stage="fetch",replica="0"})"), 80);
  EXPECT_EQ(std::max(dropped, 0.0) + static_cast<double>(count_lines(sink)), 80) << text;
  // Both extract replicas together took what langid sent, and timed every document they took.
  const double extract0 = sample(text, R"(vnawire_documents_received_total{stage="extract",replica="0"})");
  const double extract1 = sample(text, R"(vnawire_documents_received_total{stage="extract",replica="1"})");
  EXPECT_EQ(extract0 + extract1, sample(text, R"(vnawire_documents_out_total{stage="langid",replica="0"})"));
  EXPECT_EQ(sample(text, R"(vnawire_processing_seconds_count{stage="extract",replica="0"})"), extract0);
  EXPECT_EQ(sample(text, R"(vnawire_processing_seconds_bucket{stage="extract",replica="0",le="+Inf"})"), extract0);
  EXPECT_GT(sample(text, R"(vnawire_last_document_timestamp_seconds{stage="out",replica="0"})"), 1.7e9);
  EXPECT_EQ(sample(text, R"(vnawire_replica_up{stage="extract",replica="1"})"), 1);
  EXPECT_EQ(sample(text, "vnawire_pipeline_ready"), 1);

  const Answer health = http(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  const Answer status = http(port, "GET", "/status");
  ASSERT_EQ(status.status, 200);
  const auto json = nlohmann::json::parse(status.body);
  ASSERT_EQ(json["stages"].size(), 5u);
  EXPECT_EQ(json["stages"][3]["name"], "extract");
  EXPECT_EQ(json["stages"][3]["replicas"], 2);
  EXPECT_EQ(json["stages"][4]["out"], count_lines(sink));
  EXPECT_EQ(http(port, "GET", "/nope").status, 404);
  EXPECT_EQ(http(port, "POST", "/metrics").status, 405);

  // `vnawire status` against the running daemon: one line per stage.
  const std::string address = "127.0.0.1:" + std::to_string(port);
  Process status_command({kBinary, "status", "--address", address}, dir.path());
  ASSERT_EQ(status_command.wait(seconds(10)), 0) << status_command.errors();
  const std::string table = status_command.output();
  EXPECT_NE(table.find("pipeline: ready, healthy"), std::string::npos) << table;
  EXPECT_TRUE(std::regex_search(table, std::regex("\nextract +2/2 ")));
  EXPECT_TRUE(std::regex_search(table, std::regex("\nout +1/1 +" + std::to_string(count_lines(sink)) + " "))) << table;

  // A replica killed: /healthz names it while it is down, and its restart is counted on it alone.
  const std::string tag = (dir / "state/run/pipeline.yaml").string() + " --base-dir " + dir.path().string();
  const auto extract = processes_with(tag + " --stage extract --replica 1");
  ASSERT_EQ(extract.size(), 1u);
  ::kill(extract[0], SIGKILL);
  Answer down;
  ASSERT_TRUE(wait_until([&] { return (down = http(port, "GET", "/healthz")).status == 503; }, seconds(10)));
  EXPECT_EQ(down.body, "extract: 1 of 2 replicas up\n");
  ASSERT_TRUE(wait_until([&] { return http(port, "GET", "/healthz").status == 200; }, seconds(20)));
  text = http(port, "GET", "/metrics").body;
  EXPECT_EQ(sample(text, R"(vnawire_restarts_total{stage="extract",replica="1"})"), 1) << text;
  EXPECT_EQ(sample(text, R"(vnawire_restarts_total{stage="extract",replica="0"})"), 0) << text;

  // --watch prints one table after another (no terminal here) until Ctrl-C, which ends it cleanly.
  Process watch({kBinary, "status", "--address", address, "--watch", "0.2"}, dir.path());
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string out = watch.output();
        const auto first = out.find("pipeline: ");
        return first != std::string::npos && out.find("pipeline: ", first + 1) != std::string::npos;
      },
      seconds(10)))
      << watch.output() << watch.errors();
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(seconds(5)), 0) << watch.errors();

  daemon.signal(SIGTERM);
  ASSERT_EQ(daemon.wait(seconds(30)), 0) << daemon.errors();
  Process nobody({kBinary, "status", "--address", address}, dir.path());
  EXPECT_EQ(nobody.wait(seconds(10)), 1);
  EXPECT_EQ(nobody.errors(), "vnawire status: no vnawire daemon at " + address + ": connection refused\n");
}

TEST(Metrics, AnAddressInUseStopsTheDaemonAtStartAndNamesIt) {
  TempDir dir;
  // A port held by this test: the daemon cannot listen on it.
  const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t length = sizeof addr;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &length);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  write_file(dir / "pipeline.yaml", metrics_yaml(dir, address));
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  EXPECT_EQ(daemon.wait(seconds(30)), 1);
  EXPECT_NE(daemon.errors().find("cannot serve metrics on " + address), std::string::npos) << daemon.errors();
  EXPECT_TRUE(processes_with("--base-dir " + dir.path().string()).empty());
  ::close(holder);
}

}  // namespace
}  // namespace vnawire::testing
