// Two hosts for real: network namespaces joined by a veth pair. Host A runs the main daemon (fetch from a replay
// server there, dedupe, the sink), host B a host agent with the extract replicas; every tcp socket between them
// uses CURVE. Root only (it creates namespaces), skipped otherwise.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <thread>

#include "tests/integration/curve_keys.h"
#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kIp = "/usr/sbin/ip";
constexpr int kNetnsDocuments = 300;

bool run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// Two namespaces with a veth pair between them, 10.<n>.<m>.1 in A and .2 in B; deleted with the object, whatever
// the test did (deleting a namespace deletes its end of the pair, and the pair with it).
class TwoHosts {
 public:
  TwoHosts() {
    const int id = static_cast<int>(::getpid() % 60000);
    a_ = "vnw-a-" + std::to_string(id);
    b_ = "vnw-b-" + std::to_string(id);
    const std::string subnet = "10." + std::to_string(200 + id % 50) + "." + std::to_string(id % 250) + ".";
    address_a_ = subnet + "1";
    address_b_ = subnet + "2";
    const std::string veth_a = "vnwa" + std::to_string(id), veth_b = "vnwb" + std::to_string(id);
    ok_ = run(std::string(kIp) + " netns add " + a_);
    created_a_ = ok_;
    ok_ = ok_ && run(std::string(kIp) + " netns add " + b_);
    created_b_ = ok_;
    ok_ = ok_ && run(std::string(kIp) + " link add " + veth_a + " type veth peer name " + veth_b) &&
          run(std::string(kIp) + " link set " + veth_a + " netns " + a_) &&
          run(std::string(kIp) + " link set " + veth_b + " netns " + b_) &&
          run(std::string(kIp) + " -n " + a_ + " addr add " + address_a_ + "/24 dev " + veth_a) &&
          run(std::string(kIp) + " -n " + b_ + " addr add " + address_b_ + "/24 dev " + veth_b) &&
          run(std::string(kIp) + " -n " + a_ + " link set " + veth_a + " up") &&
          run(std::string(kIp) + " -n " + b_ + " link set " + veth_b + " up") &&
          run(std::string(kIp) + " -n " + a_ + " link set lo up") &&
          run(std::string(kIp) + " -n " + b_ + " link set lo up");
    if (!ok_) run(std::string(kIp) + " link del " + veth_a);  // in case it never moved into a namespace
  }
  ~TwoHosts() {
    if (created_a_) run(std::string(kIp) + " netns del " + a_);
    if (created_b_) run(std::string(kIp) + " netns del " + b_);
  }
  bool ok() const { return ok_; }
  // The command line that runs `args` inside namespace A or B.
  std::vector<std::string> in_a(std::vector<std::string> args) const { return in(a_, std::move(args)); }
  std::vector<std::string> in_b(std::vector<std::string> args) const { return in(b_, std::move(args)); }
  const std::string& address_a() const { return address_a_; }
  const std::string& address_b() const { return address_b_; }
  // A connection from A to a closed port of B is refused only if packets cross the pair (no ping on CI images).
  bool reachable() const {
    const std::string probe = std::string(kIp) + " netns exec " + a_ + " timeout 2 bash -c 'exec 3<>/dev/tcp/" +
                              address_b_ + "/9' 2>&1 | grep -q refused";
    return std::system(probe.c_str()) == 0;
  }

 private:
  static std::vector<std::string> in(const std::string& ns, std::vector<std::string> args) {
    args.insert(args.begin(), {kIp, "netns", "exec", ns});
    return args;
  }
  std::string a_, b_, address_a_, address_b_;
  bool ok_ = false, created_a_ = false, created_b_ = false;
};

std::string two_host_pipeline(const TempDir& dir, const TwoHosts& hosts, const std::string& site,
                              const std::string& host_key, const std::string& state = "state") {
  return "pipeline:\n  state_dir: " + (dir / state).string() + "\n  transport: tcp\n  tcp_host: " + hosts.address_a() +
         "\n  tcp_base_port: 6200\n  flush_interval_ms: 100\n  heartbeat_ms: 200\n  restart_backoff_ms: 50\n"
         "  restart_backoff_max_ms: 400\n  ack_timeout_ms: 2000\n  max_attempts: 100\n  drain_timeout_ms: 60000\n" +
         curve_pipeline_lines(dir, host_key) +
         "stages:\n"
         "  - name: fetch\n    type: fetch\n    options:\n      per_host_interval_ms: 0\n      per_host_in_flight: 8\n"
         "      max_docs_per_second: 60\n"
         "      sources:\n        - {name: replay, kind: site, url: '" +
         site +
         "/', interval_ms: 500, allow_private: true}\n"
         "  - name: dedupe\n    type: dedupe\n    inputs: [fetch]\n    options: {action: tag, near_action: tag}\n"
         "  - name: extract\n    type: extract\n    replicas: 2\n    inputs: [dedupe]\n    host: " +
         hosts.address_b() +
         "\n"
         "  - name: out\n    type: sink_jsonl\n    inputs: [extract]\n    options: {path: out.jsonl}\n";
}

TEST(Netns, DocumentsCrossTwoHostsWithCurveAStrangerIsRefusedAndKillingAHostsExtractsLosesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
  TwoHosts hosts;
  if (!hosts.ok()) GTEST_SKIP() << "cannot create network namespaces and a veth pair here (ip netns add failed)";
  ASSERT_TRUE(wait_until([&] { return hosts.reachable(); }, seconds(10))) << "the veth pair does not carry packets";

  TempDir dir;
  ASSERT_TRUE(make_curve_keys(dir, {"host-a", "host-b"}, {"stranger"}));
  std::filesystem::create_directories(dir / "site");
  for (int n = 0; n < kNetnsDocuments; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "item-%05d.txt", n);
    write_file(dir / "site" / name, generated_dispatch(n));
  }
  Process replay(hosts.in_a({kBinary, "replay", "--dir", (dir / "site").string(), "--listen", "127.0.0.1:0"}),
                 dir.path());
  const std::string site = start_replay(replay);
  ASSERT_FALSE(site.empty()) << replay.errors();
  // The same pipeline on both hosts; each holds its own secret key under the same option.
  write_file(dir / "host-a.yaml", two_host_pipeline(dir, hosts, site, "host-a"));
  write_file(dir / "host-b.yaml", two_host_pipeline(dir, hosts, site, "host-b"));
  Process daemon(hosts.in_a({kBinary, "run", "-c", (dir / "host-a.yaml").string()}), dir.path());
  Process agent(hosts.in_b({kBinary, "run", "-c", (dir / "host-b.yaml").string(), "--host", hosts.address_b()}),
                dir.path());
  const auto sink = dir / "state/out.jsonl";
  ASSERT_TRUE(wait_until([&] { return count_lines(sink) >= 30; }, seconds(120))) << daemon.errors() << "\n--- host B:\n"
                                                                                 << agent.errors();

  // A peer in B with a key nobody authorized, posing as a second sink that would take extract's output:
  // refused by the daemon's control channel and by the extract replicas.
  write_file(dir / "stranger.yaml", two_host_pipeline(dir, hosts, site, "stranger", "stranger-state"));
  Process stranger(
      hosts.in_b({kBinary, "stage", "--config", (dir / "stranger.yaml").string(), "--stage", "out", "--replica", "0"}),
      dir.path());
  const std::string key = public_key_of(dir / "keys/stranger.public");
  const std::string refusal = "CURVE: refused a client at " + hosts.address_b() + " with key " + key;
  ASSERT_TRUE(wait_until([&] { return daemon.errors().find(refusal) != std::string::npos; }, seconds(20)))
      << daemon.errors();
  // The extract replicas run in B: their log lines reach the agent's stderr.
  ASSERT_TRUE(wait_until([&] { return agent.errors().find(refusal) != std::string::npos; }, seconds(20)))
      << agent.errors();
  stranger.signal(SIGKILL);
  stranger.wait(seconds(5));

  // Host B loses its extract processes while documents flow; its agent starts them again and the sources
  // send what they took with them.
  const std::string tag = (dir / ("state/run/pipeline." + hosts.address_b() + ".yaml")).string() + " --base-dir";
  std::set<pid_t> killed;
  for (int round = 0; round < 3; ++round) {
    std::vector<pid_t> extracts;
    // The agent's new processes, not the ones just killed that are still on their way out.
    ASSERT_TRUE(wait_until(
        [&] {
          extracts.clear();
          for (pid_t pid : processes_with(tag)) {
            if (!killed.count(pid)) extracts.push_back(pid);
          }
          return extracts.size() == 2;
        },
        seconds(20)))
        << agent.errors();
    // Stopped first, so that documents pile up in their sockets and are certainly lost with them.
    for (pid_t pid : extracts) ::kill(pid, SIGSTOP);
    std::this_thread::sleep_for(milliseconds(400));
    for (pid_t pid : extracts) {
      if (::kill(pid, SIGKILL) == 0) killed.insert(pid);
    }
  }
  EXPECT_EQ(killed.size(), 6u);

  const bool complete =
      wait_until([&] { return stored_so_far(sink) >= static_cast<std::size_t>(kNetnsDocuments); }, seconds(180));
  daemon.signal(SIGTERM);
  const int daemon_code = daemon.wait(seconds(90));
  const int agent_code = agent.wait(seconds(30));
  ASSERT_TRUE(complete) << stored_so_far(sink) << " of " << kNetnsDocuments << "\n" << daemon.errors();
  EXPECT_EQ(daemon_code, 0) << daemon.errors();
  EXPECT_EQ(agent_code, 0) << agent.errors();
  const auto urls = stored_urls(sink);
  EXPECT_EQ(urls.size(), static_cast<std::size_t>(kNetnsDocuments));
  for (const auto& [url, times] : urls) EXPECT_EQ(times, 1) << url;
  EXPECT_NE(agent.errors().find("restarting"), std::string::npos) << agent.errors();
  // Documents were lost with the killed replicas, and the source sent them again once unacknowledged.
  EXPECT_NE(daemon.errors().find("not acknowledged in time: sending it again"), std::string::npos) << daemon.errors();
  EXPECT_EQ(count_lines(dir / "stranger-state/out.jsonl"), 0u);  // it took nothing
}

}  // namespace
}  // namespace vnawire::testing
