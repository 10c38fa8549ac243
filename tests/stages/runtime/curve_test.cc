// CURVE key files (vnawire keygen's output) and the pipeline's key options: every bad file is a config error
// naming file, line and key.
#include "stages/runtime/curve.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <zmq.h>

#include <array>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "stages/registry.h"
#include "stages/runtime/pipeline_config.h"
#include "stages/runtime/wiring.h"

namespace vnawire::runtime {
namespace {

namespace fs = std::filesystem;

struct Scratch {
  fs::path path;
  Scratch() {
    char pattern[] = "/tmp/vnawire-curve-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~Scratch() { fs::remove_all(path); }
};

unsigned mode_of(const fs::path& path) {
  struct stat info {};
  ::stat(path.c_str(), &info);
  return info.st_mode & 0777;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

LoadedConfig parse(const std::string& pipeline_lines, const fs::path& base) {
  const std::string yaml = "pipeline:\n  state_dir: state\n" + pipeline_lines +
                           "stages:\n"
                           "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
                           "  - {name: extract, type: extract, inputs: [fetch], host: 10.0.0.2}\n"
                           "  - {name: out, type: sink_jsonl, inputs: [extract], options: {path: out.jsonl}}\n";
  return parse_pipeline_config(yaml, "test.yaml", base,
                               [](const std::string& type) { return stages::find_stage(type); });
}

std::string curve_config_errors(const LoadedConfig& loaded) {
  std::string out;
  for (const auto& e : loaded.errors) out += e.to_string() + "\n";
  return out;
}

// The four CURVE keys of a pipeline, as the operator writes them, relative to the config's folder.
std::string curve_lines(const std::string& client = "keys/host-a.secret") {
  return "  transport: tcp\n"
         "  curve_server_secret_key: keys/server.secret\n"
         "  curve_server_public_key: keys/server.public\n"
         "  curve_secret_key: " +
         client +
         "\n"
         "  curve_authorized_keys: authorized\n";
}

void make_keys(const fs::path& base) {
  ASSERT_TRUE(write_key_pair(base / "keys", "server", false));
  ASSERT_TRUE(write_key_pair(base / "keys", "host-a", false));
  fs::create_directories(base / "authorized");
  fs::copy_file(base / "keys/host-a.public", base / "authorized/host-a.public");
}

TEST(Curve, KeygenWritesAPairWithTheRightModesAndTheSecretMatchesThePublicKey) {
  Scratch dir;
  ::umask(0077);  // a strict umask must not leave the public key unreadable to others
  auto written = write_key_pair(dir.path, "node", false);
  ::umask(0022);
  ASSERT_TRUE(written) << written.message();
  EXPECT_EQ(mode_of(dir.path / "node.secret"), 0600u);
  EXPECT_EQ(mode_of(dir.path / "node.public"), 0644u);
  auto secret = read_key_file(dir.path / "node.secret", true);
  auto public_key = read_key_file(dir.path / "node.public", false);
  ASSERT_TRUE(secret) << secret.error();
  ASSERT_TRUE(public_key) << public_key.error();
  char derived[41] = {};
  ASSERT_EQ(zmq_curve_public(derived, secret->c_str()), 0);
  EXPECT_EQ(*public_key, derived);
}

TEST(Curve, KeygenRefusesToReplaceAKeyUnlessForced) {
  Scratch dir;
  ASSERT_TRUE(write_key_pair(dir.path, "node", false));
  const std::string before = slurp(dir.path / "node.secret");
  auto again = write_key_pair(dir.path, "node", false);
  ASSERT_FALSE(again);
  EXPECT_NE(again.message().find("--force"), std::string::npos) << again.message();
  EXPECT_EQ(slurp(dir.path / "node.secret"), before);
  ASSERT_TRUE(write_key_pair(dir.path, "node", true));
  EXPECT_NE(slurp(dir.path / "node.secret"), before);
  EXPECT_EQ(mode_of(dir.path / "node.secret"), 0600u);
  EXPECT_FALSE(write_key_pair(dir.path, "../escape", false));
}

TEST(Curve, KeyFilesThatAreNotKeysOrSecretsOthersCanReadAreRefused) {
  Scratch dir;
  std::ofstream(dir.path / "garbage.public") << "# a comment\nnot a key at all\n";
  auto garbage = read_key_file(dir.path / "garbage.public", false);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().find("40 Z85"), std::string::npos) << garbage.error();
  ASSERT_TRUE(write_key_pair(dir.path, "node", false));
  fs::permissions(dir.path / "node.secret", fs::perms::others_read, fs::perm_options::add);
  auto loose = read_key_file(dir.path / "node.secret", true);
  ASSERT_FALSE(loose);
  EXPECT_NE(loose.error().find("chmod 600"), std::string::npos) << loose.error();
  EXPECT_FALSE(read_key_file(dir.path / "missing.secret", true));
}

TEST(Curve, AValidSetOfKeysLoadsWithAbsolutePathsAndRemoteEndpointsAtTheirHost) {
  Scratch dir;
  make_keys(dir.path);
  auto loaded = parse(curve_lines(), dir.path);
  ASSERT_TRUE(loaded.ok()) << curve_config_errors(loaded);
  EXPECT_EQ(loaded.config.pipeline.get_string(kCurveSecretKey), (dir.path / "keys/host-a.secret").string());
  ASSERT_TRUE(curve_enabled(loaded.config));
  auto keys = load_curve_keys(loaded.config);
  ASSERT_TRUE(keys) << keys.error();
  EXPECT_EQ(keys->authorized.size(), 1u);
  EXPECT_TRUE(keys->authorized.count(keys->client_public));
  // extract runs on 10.0.0.2: its output is there, the control channel and fetch's output at tcp_host.
  EXPECT_EQ(output_endpoint(loaded.config, "extract", 0, "out").rfind("tcp://10.0.0.2:", 0), 0u);
  EXPECT_EQ(output_endpoint(loaded.config, "fetch", 0, "extract").rfind("tcp://127.0.0.1:", 0), 0u);
  EXPECT_EQ(control_endpoint(loaded.config).rfind("tcp://127.0.0.1:", 0), 0u);
  // Without tcp_bind a stage binds where it is reached; with `*` (hosts that are DNS names) on every interface.
  EXPECT_EQ(output_bind_endpoint(loaded.config, "extract", 0, "out"),
            output_endpoint(loaded.config, "extract", 0, "out"));
  auto everywhere = parse(curve_lines() + "  tcp_bind: \"*\"\n", dir.path);
  ASSERT_TRUE(everywhere.ok()) << curve_config_errors(everywhere);
  const std::string endpoint = output_endpoint(everywhere.config, "extract", 0, "out");
  EXPECT_EQ(output_bind_endpoint(everywhere.config, "extract", 0, "out"),
            "tcp://*:" + endpoint.substr(endpoint.rfind(':') + 1));
  EXPECT_EQ(control_bind_endpoint(everywhere.config).rfind("tcp://*:", 0), 0u);
}

TEST(Curve, AMissingOrBadKeyFileIsAConfigErrorNamingFileLineAndKey) {
  Scratch dir;
  make_keys(dir.path);
  auto missing = parse(curve_lines("keys/nowhere.secret"), dir.path);
  ASSERT_EQ(missing.errors.size(), 1u) << curve_config_errors(missing);
  EXPECT_EQ(missing.errors[0].key, "pipeline.curve_secret_key");
  EXPECT_EQ(missing.errors[0].line, 6);  // the line of curve_secret_key in the file
  EXPECT_NE(missing.errors[0].to_string().find("test.yaml:6:"), std::string::npos) << curve_config_errors(missing);
  EXPECT_NE(missing.errors[0].reason.find("nowhere.secret"), std::string::npos) << curve_config_errors(missing);

  // The server's public key must be the pair of its secret key, or no client could ever connect.
  ASSERT_TRUE(write_key_pair(dir.path / "keys", "other", false));
  std::string swapped = curve_lines();
  swapped.replace(swapped.find("keys/server.public"), 18, "keys/other.public");
  auto mismatch = parse(swapped, dir.path);
  ASSERT_EQ(mismatch.errors.size(), 1u) << curve_config_errors(mismatch);
  EXPECT_EQ(mismatch.errors[0].key, "pipeline.curve_server_public_key");

  std::ofstream(dir.path / "authorized/broken.public") << "zzz\n";
  auto broken = parse(curve_lines(), dir.path);
  ASSERT_EQ(broken.errors.size(), 1u) << curve_config_errors(broken);
  EXPECT_EQ(broken.errors[0].key, "pipeline.curve_authorized_keys");
  EXPECT_NE(broken.errors[0].reason.find("broken.public"), std::string::npos) << curve_config_errors(broken);
}

TEST(Curve, HalfAConfigurationOrCurveOverIpcIsRefused) {
  Scratch dir;
  make_keys(dir.path);
  auto half = parse("  transport: tcp\n  curve_secret_key: keys/host-a.secret\n", dir.path);
  EXPECT_EQ(half.errors.size(), 3u) << curve_config_errors(half);  // the three missing ones, each named
  std::string over_ipc = curve_lines();
  over_ipc.replace(over_ipc.find("tcp"), 3, "ipc");
  auto ipc = parse(over_ipc, dir.path);
  ASSERT_FALSE(ipc.ok());
  EXPECT_NE(curve_config_errors(ipc).find("transport: tcp"), std::string::npos) << curve_config_errors(ipc);
}

TEST(Curve, AProgramOfItsOwnCannotJoinAPipelineWithCurveKeys) {
  Scratch dir;
  make_keys(dir.path);
  const std::string yaml =
      "pipeline:\n  state_dir: state\n" + curve_lines() +
      "stages:\n"
      "  - {name: fetch, type: fetch, options: {directory: inbox}}\n"
      "  - {name: files, type: exec, inputs: [fetch], options: {mode: zmq, command: [store.py]}}\n";
  auto loaded = parse_pipeline_config(yaml, "test.yaml", dir.path,
                                      [](const std::string& type) { return stages::find_stage(type); });
  ASSERT_EQ(loaded.errors.size(), 1u) << curve_config_errors(loaded);
  EXPECT_EQ(loaded.errors[0].key, "stages[1].options.mode");
  EXPECT_EQ(loaded.errors[0].line, 10);  // the exec stage's entry
}

// The handler runs on a thread of its own beside the sockets it guards (run under ThreadSanitizer too): real
// CURVE sockets over loopback, one client with an authorized key, one without.
TEST(Curve, TheHandlerAdmitsAnAuthorizedClientAndRefusesAndLogsAnother) {
  auto pair = [] {
    std::array<char, 41> public_key{}, secret_key{};
    EXPECT_EQ(zmq_curve_keypair(public_key.data(), secret_key.data()), 0);
    return std::make_pair(std::string(public_key.data()), std::string(secret_key.data()));
  };
  const auto server = pair(), admitted = pair(), stranger = pair();
  CurveKeys server_keys{server.first, server.second, "", "", {admitted.first}};
  CurveKeys admitted_keys{server.first, server.second, admitted.first, admitted.second, {}};
  CurveKeys stranger_keys{server.first, server.second, stranger.first, stranger.second, {}};

  std::ostringstream logged;
  auto log = std::make_shared<spdlog::logger>("curve", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged));
  zmq::context_t context(1);
  std::uint64_t refused = 0, let_in = 0;
  std::vector<std::string> received;
  {
    ZapHandler zap(context, server_keys.authorized, log);
    zmq::socket_t pull(context, zmq::socket_type::pull);
    pull.set(zmq::sockopt::linger, 0);
    make_curve_server(pull, server_keys);
    pull.bind("tcp://127.0.0.1:*");
    const std::string endpoint = pull.get(zmq::sockopt::last_endpoint);
    zmq::socket_t good(context, zmq::socket_type::push), bad(context, zmq::socket_type::push);
    for (auto [socket, keys] : {std::pair{&good, &admitted_keys}, std::pair{&bad, &stranger_keys}}) {
      socket->set(zmq::sockopt::linger, 0);
      make_curve_client(*socket, *keys);
      socket->connect(endpoint);
    }
    (void)bad.send(zmq::str_buffer("from the stranger"), zmq::send_flags::dontwait);
    (void)good.send(zmq::str_buffer("from the admitted client"), zmq::send_flags::dontwait);
    pull.set(zmq::sockopt::rcvtimeo, 200);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline && (received.empty() || zap.refused() == 0)) {
      zmq::message_t message;
      if (pull.recv(message)) received.push_back(message.to_string());
    }
    // Long enough for a stranger's message to arrive if it were let in.
    zmq::message_t late;
    pull.set(zmq::sockopt::rcvtimeo, 500);
    if (pull.recv(late)) received.push_back(late.to_string());
    refused = zap.refused();
    let_in = zap.admitted();
  }
  EXPECT_EQ(received, std::vector<std::string>{"from the admitted client"});
  EXPECT_GE(refused, 1u);
  EXPECT_GE(let_in, 1u);
  log->flush();
  EXPECT_NE(logged.str().find("CURVE: refused a client at 127.0.0.1 with key " + stranger.first), std::string::npos)
      << logged.str();
  EXPECT_EQ(logged.str().find(admitted.first), std::string::npos) << "an admitted key is not logged as refused";
}

}  // namespace
}  // namespace vnawire::runtime
