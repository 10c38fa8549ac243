// The daemon under systemd's eyes: sd_notify messages on a test NOTIFY_SOCKET (READY, STATUS, WATCHDOG,
// STOPPING, RELOADING), watchdog pings withheld while a stage is frozen, and SIGHUP reloads of the config.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The service manager's end of the notification socket: a datagram socket the daemon is told about through
// NOTIFY_SOCKET, as systemd does. Messages are kept in arrival order.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ADD_FAILURE() << "bind " << path;
  }
  ~NotifySocket() { ::close(fd_); }

  // Reads whatever arrived, waiting up to `wait` for the first datagram.
  void drain(milliseconds wait = milliseconds(20)) {
    pollfd item{fd_, POLLIN, 0};
    while (::poll(&item, 1, static_cast<int>(wait.count())) > 0) {
      char buffer[4096];
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) return;
      messages_.emplace_back(buffer, static_cast<std::size_t>(got));
      wait = milliseconds(0);
    }
  }
  // Waits until some message holds `needle`; returns its index, or -1.
  int wait_for(const std::string& needle, milliseconds timeout, std::size_t from = 0) {
    int found = -1;
    wait_until(
        [&] {
          drain();
          for (std::size_t i = from; i < messages_.size() && found < 0; ++i) {
            if (messages_[i].find(needle) != std::string::npos) found = static_cast<int>(i);
          }
          return found >= 0;
        },
        timeout);
    return found;
  }
  std::size_t count(const std::string& needle, std::size_t from = 0) {
    drain();
    std::size_t n = 0;
    for (std::size_t i = from; i < messages_.size(); ++i) n += messages_[i].find(needle) != std::string::npos;
    return n;
  }
  const std::vector<std::string>& messages() const { return messages_; }
  std::string all() const {
    std::string out;
    for (const auto& m : messages_) out += "[" + m + "]\n";
    return out;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

// Starts `vnawire run` with the service manager's variables set only for it.
std::unique_ptr<Process> start_daemon(const TempDir& dir, const std::string& config, const std::string& watchdog_usec) {
  ::setenv("NOTIFY_SOCKET", (dir / "notify").c_str(), 1);
  if (!watchdog_usec.empty()) ::setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
  auto daemon = std::make_unique<Process>(std::vector<std::string>{kBinary, "run", "-c", config}, dir.path());
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  return daemon;
}

std::string pipeline_head(const TempDir& dir, const std::string& pipeline_extra = "") {
  return "pipeline: {state_dir: " + (dir / "state").string() +
         ", heartbeat_ms: 200, flush_interval_ms: 100, stage_timeout_ms: 60000" + pipeline_extra +
         "}\n"
         "stages:\n"
         "  - {name: fetch, type: fetch, options: {directory: " +
         (dir / "inbox").string() + ", poll_interval_ms: 50, settle_ms: 50}}\n";
}

std::string sink(const std::string& name) {
  return "  - {name: " + name + ", type: sink_jsonl, inputs: [fetch], options: {path: " + name + ".jsonl}}\n";
}

std::size_t stored(const TempDir& dir, const std::string& sink_name) {
  return stored_urls(dir / "state" / (sink_name + ".jsonl")).size();
}

// Each test: a folder with an inbox, the notification socket, and the config the daemon is started with.
class Systemd : public ::testing::Test {
 protected:
  Systemd() { std::filesystem::create_directories(dir / "inbox"); }
  void start(const std::string& yaml, const std::string& watchdog_usec = "") {
    write_file(config, yaml);
    daemon = start_daemon(dir, config.string(), watchdog_usec);
  }
  TempDir dir;
  NotifySocket notify{dir / "notify"};
  std::filesystem::path config = dir / "pipeline.yaml";
  std::unique_ptr<Process> daemon;
};

TEST_F(Systemd, TheDaemonNotifiesReadyWithStatusThenWatchdogPingsThenStoppingInThatOrder) {
  write_inbox(dir, 0, 5);
  start(pipeline_head(dir) + sink("out"), "1000000");

  const int ready = notify.wait_for("READY=1", seconds(30));
  ASSERT_GE(ready, 0) << notify.all() << daemon->errors();
  EXPECT_NE(notify.messages()[ready].find("STATUS=2 stages, 2 processes; "), std::string::npos) << notify.all();
  // Pinged at half the period while documents flow and after.
  ASSERT_TRUE(wait_until([&] { return notify.count("WATCHDOG=1", ready) >= 3; }, seconds(10))) << notify.all();
  ASSERT_TRUE(wait_until([&] { return stored(dir, "out") == 5; }, seconds(30)));
  // Only the daemon speaks for the service: its stages do not see the socket or the watchdog.
  const auto sinks = processes_with("--base-dir " + dir.path().string() + " --stage out ");
  ASSERT_EQ(sinks.size(), 1u);
  std::string environment = read_file("/proc/" + std::to_string(sinks[0]) + "/environ");
  std::replace(environment.begin(), environment.end(), '\0', '\n');
  EXPECT_EQ(environment.find("NOTIFY_SOCKET="), std::string::npos) << environment;
  EXPECT_EQ(environment.find("WATCHDOG_USEC="), std::string::npos) << environment;
  EXPECT_NE(environment.find("PATH="), std::string::npos) << "the rest of the environment is inherited";
  EXPECT_EQ(notify.count("WATCHDOG=1", 0), notify.count("WATCHDOG=1", ready)) << "a ping before READY";

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(seconds(30)), 0) << daemon->errors();
  const int stopping = notify.wait_for("STOPPING=1", seconds(5));
  ASSERT_GT(stopping, ready) << notify.all();
  EXPECT_EQ(notify.count("READY=1"), 1u) << notify.all();
  EXPECT_NE(notify.messages()[stopping].find("STATUS=draining (SIGTERM)"), std::string::npos) << notify.all();
}

TEST_F(Systemd, WatchdogPingsStopWhileAStageIsFrozenAndResumeOnceItRunsAgain) {
  start(pipeline_head(dir) + sink("out"), "1000000");
  ASSERT_GE(notify.wait_for("WATCHDOG=1", seconds(30)), 0) << notify.all() << daemon->errors();

  const auto sinks = processes_with("--base-dir " + dir.path().string() + " --stage out ");
  ASSERT_EQ(sinks.size(), 1u);
  ::kill(sinks[0], SIGSTOP);  // hung: no heartbeat, although its process lives (stage_timeout_ms is 60 s)
  ASSERT_TRUE(wait_for_log(*daemon, "pipeline stuck: out#0 sent nothing for", seconds(10)));
  const std::size_t pings = notify.count("WATCHDOG=1");
  // Two whole ping intervals (500 ms each) without a ping.
  EXPECT_FALSE(wait_until([&] { return notify.count("WATCHDOG=1") > pings; }, milliseconds(1500))) << notify.all();
  EXPECT_GE(notify.count("STATUS=stuck: out#0"), 1u) << notify.all();

  ::kill(sinks[0], SIGCONT);
  EXPECT_TRUE(wait_until([&] { return notify.count("WATCHDOG=1") > pings; }, seconds(10))) << notify.all();
  EXPECT_TRUE(wait_for_log(*daemon, "watchdog pings resume"));
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(seconds(30)), 0) << daemon->errors();
}

TEST_F(Systemd, ReloadAddsASinkThatGetsTheNextDocumentsAndRemovesItAgainWithoutLosingAnyFromTheFirst) {
  write_inbox(dir, 0, 10);
  start(pipeline_head(dir) + sink("first"));
  ASSERT_TRUE(wait_until([&] { return stored(dir, "first") == 10; }, seconds(30))) << daemon->errors();

  write_file(config, pipeline_head(dir) + sink("first") + sink("second"));
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_for_log(*daemon, "reload applied"));
  const int reloading = notify.wait_for("RELOADING=1", seconds(5));
  ASSERT_GE(reloading, 0) << notify.all();
  EXPECT_GE(notify.wait_for("READY=1", seconds(5), static_cast<std::size_t>(reloading) + 1), reloading + 1)
      << notify.all();
  EXPECT_NE(read_file(dir / "state" / "run" / "pipeline.yaml").find("second"), std::string::npos);

  write_inbox(dir, 10, 20);
  ASSERT_TRUE(wait_until([&] { return stored(dir, "first") == 20 && stored(dir, "second") == 10; }, seconds(30)))
      << daemon->errors();

  // And away again: `second` is drained and stopped, `first` goes on.
  write_file(config, pipeline_head(dir) + sink("first"));
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_for_log(*daemon, "reload: second removed"));
  write_inbox(dir, 20, 25);
  ASSERT_TRUE(wait_until([&] { return stored(dir, "first") == 25; }, seconds(30))) << daemon->errors();
  EXPECT_EQ(stored(dir, "second"), 10u);
  EXPECT_TRUE(processes_with("--base-dir " + dir.path().string() + " --stage second ").empty());

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(seconds(30)), 0) << daemon->errors();
  for (const auto& [url, times] : stored_urls(dir / "state" / "first.jsonl")) EXPECT_EQ(times, 1) << url;
}

TEST_F(Systemd, ReloadRemovingASourceStopsItAfterWhatItSentIsStoredAndTheStopStaysClean) {
  std::filesystem::create_directories(dir / "other");
  const std::string other_source = "  - {name: other, type: fetch, options: {directory: " + (dir / "other").string() +
                                   ", poll_interval_ms: 50, settle_ms: 50}}\n";
  const std::string out_from_both =
      "  - {name: out, type: sink_jsonl, inputs: [fetch, other], options: {path: out.jsonl}}\n";
  for (int n = 0; n < 6; ++n)
    write_file(dir / "other" / ("other-" + std::to_string(n) + ".txt"), generated_dispatch(100 + n));
  write_inbox(dir, 0, 6);
  start(pipeline_head(dir) + other_source + out_from_both);
  ASSERT_TRUE(wait_until([&] { return stored(dir, "out") == 12; }, seconds(30))) << daemon->errors();

  write_file(config, pipeline_head(dir) + sink("out"));
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_for_log(*daemon, "reload: adding none; removing other; restarting on new sockets out"));
  ASSERT_TRUE(wait_for_log(*daemon, "reload applied"));
  EXPECT_TRUE(processes_with("--base-dir " + dir.path().string() + " --stage other ").empty());

  write_file(dir / "other" / "late.txt", generated_dispatch(200));  // nobody reads `other` any more
  write_inbox(dir, 6, 10);
  ASSERT_TRUE(wait_until([&] { return stored(dir, "out") == 16; }, seconds(30))) << daemon->errors();
  daemon->signal(SIGTERM);
  // The sink received what both sources sent: the balance at the stop counts the removed source too.
  EXPECT_EQ(daemon->wait(seconds(30)), 0) << daemon->errors();
  EXPECT_EQ(daemon->errors().find("not a clean stop"), std::string::npos) << daemon->errors();
  EXPECT_EQ(stored(dir, "out"), 16u);
}

// As vnawire-stage@out.service would run it, beside a daemon whose config says `supervised_by: systemd`.
std::unique_ptr<Process> start_stage_as_systemd_would(const TempDir& dir, const std::string& stage) {
  return std::make_unique<Process>(
      std::vector<std::string>{kBinary, "stage", "--config", (dir / "state" / "run" / "pipeline.yaml").string(),
                               "--base-dir", dir.path().string(), "--stage", stage, "--replica", "0"},
      dir.path());
}

TEST_F(Systemd, AStageSupervisedBySystemdIsAdoptedFromItsReadyRestartedByItAndStoppedInTheDrain) {
  write_inbox(dir, 0, 6);
  // The kill below may come between a row's write and its acknowledgement (CI saw it once): the source then
  // sends it again after ack_timeout_ms, which must come within the drain (the default, 30 s, would not),
  // and the sink's replay memory keeps it once.
  start(pipeline_head(dir, ", ack_timeout_ms: 2000") +
        "  - {name: out, type: sink_jsonl, inputs: [fetch], supervised_by: systemd, options: {path: out.jsonl}}\n");
  ASSERT_TRUE(wait_for_log(*daemon, "starting 2 stage(s)"));
  ASSERT_TRUE(
      wait_until([&] { return std::filesystem::exists(dir / "state" / "run" / "pipeline.yaml"); }, seconds(10)));
  EXPECT_LT(notify.wait_for("READY=1", milliseconds(500)), 0) << "ready without its sink";
  EXPECT_TRUE(processes_with("--base-dir " + dir.path().string() + " --stage out ").empty())
      << "the daemon started a stage that systemd supervises";

  auto stage = start_stage_as_systemd_would(dir, "out");
  ASSERT_TRUE(wait_for_log(*daemon, "out#0 is pid " + std::to_string(stage->pid()) + ", started by systemd"));
  ASSERT_GE(notify.wait_for("READY=1", seconds(30)), 0) << daemon->errors();
  ASSERT_TRUE(wait_until([&] { return stored(dir, "out") == 6; }, seconds(30))) << daemon->errors();

  // It crashes; systemd starts it again (Restart=always), and the daemon takes the new process on.
  stage->signal(SIGKILL);
  stage->wait(seconds(10));
  ASSERT_TRUE(wait_for_log(*daemon, "out#0 exited with code 1; restarting"));
  stage = start_stage_as_systemd_would(dir, "out");
  ASSERT_TRUE(wait_for_log(*daemon, "out#0 is pid " + std::to_string(stage->pid()) + ", started by systemd"));
  write_inbox(dir, 6, 10);
  ASSERT_TRUE(wait_until([&] { return stored(dir, "out") == 10; }, seconds(60))) << daemon->errors();

  daemon->signal(SIGTERM);
  EXPECT_EQ(stage->wait(seconds(30)), 0) << stage->errors();  // told STOP by the drain
  EXPECT_EQ(daemon->wait(seconds(30)), 0) << daemon->errors();
  for (const auto& [url, times] : stored_urls(dir / "state" / "out.jsonl")) EXPECT_EQ(times, 1) << url;
}

TEST_F(Systemd, AnInvalidOrUnappliableReloadIsRefusedWithItsReasonsAndTheOldPipelineKeepsWorking) {
  start(pipeline_head(dir) + sink("out"));
  ASSERT_GE(notify.wait_for("READY=1", seconds(30)), 0) << daemon->errors();
  const std::string snapshot = read_file(dir / "state" / "run" / "pipeline.yaml");

  // Line 4 names an option the sink does not have.
  write_file(config,
             pipeline_head(dir) +
                 "  - {name: out, type: sink_jsonl, inputs: [fetch], options: {path: out.jsonl, colour: red}}\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_for_log(*daemon, "reload refused: 1 error(s) in " + config.string()));
  EXPECT_TRUE(wait_for_log(*daemon, "reload: " + config.string() + ":4:"));
  EXPECT_TRUE(wait_for_log(*daemon, "colour"));

  // Valid, but a pipeline-wide option cannot change under running stages.
  write_file(config, pipeline_head(dir, ", drain_timeout_ms: 20000") + sink("out"));
  daemon->signal(SIGHUP);
  ASSERT_TRUE(wait_for_log(*daemon, "reload: needs a restart: pipeline.drain_timeout_ms changed"));
  EXPECT_EQ(read_file(dir / "state" / "run" / "pipeline.yaml"), snapshot);
  EXPECT_GE(notify.count("STATUS=reload refused"), 2u) << notify.all();

  write_inbox(dir, 0, 8);
  EXPECT_TRUE(wait_until([&] { return stored(dir, "out") == 8; }, seconds(30))) << daemon->errors();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(seconds(30)), 0) << daemon->errors();
}

}  // namespace
}  // namespace vnawire::testing
