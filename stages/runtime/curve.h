// ZeroMQ CURVE for tcp endpoints across hosts: key files, the pipeline's key options, socket set-up and the
// ZAP handler that admits only authorized client keys.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "stages/runtime/status.h"

namespace spdlog {
class logger;
}
namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace vnawire::runtime {

class Options;
struct PipelineConfig;

// The pipeline options that configure CURVE, in the order they are checked.
inline constexpr const char* kCurveServerSecretKey = "curve_server_secret_key";
inline constexpr const char* kCurveServerPublicKey = "curve_server_public_key";
inline constexpr const char* kCurveSecretKey = "curve_secret_key";
inline constexpr const char* kCurveAuthorizedKeys = "curve_authorized_keys";

// A key file holds one Z85 key (40 characters) on its first line that is not a `#` comment.
Result<std::string> read_key_file(const std::filesystem::path& path, bool secret);

// Writes <dir>/<name>.public (0644) and <dir>/<name>.secret (0600) from zmq_curve_keypair. Refuses to
// replace an existing file unless `force`.
Status write_key_pair(const std::filesystem::path& dir, const std::string& name, bool force);

struct CurveProblem {
  std::string key;  // the pipeline option at fault
  std::string reason;
};

// Checks the CURVE options of a bound `pipeline:` section: all or none set, transport tcp, every file
// readable and a valid key, the server's two keys a pair. Relative paths are made absolute from `base_dir`
// in `pipeline` so that every process reads the same files.
std::vector<CurveProblem> check_curve_options(Options& pipeline, const std::filesystem::path& base_dir);

struct CurveKeys {
  std::string server_public, server_secret;  // Z85; every binding side serves with this pair
  std::string client_public, client_secret;  // this host's own pair, for the sockets it connects
  std::set<std::string> authorized;          // Z85 client keys the ZAP handler admits
};

bool curve_enabled(const PipelineConfig& config);
// Reads the key files again (a process other than the one that checked the config).
Result<CurveKeys> load_curve_keys(const PipelineConfig& config);

// Before bind: the socket is a CURVE server. Before connect: a CURVE client of the pipeline's server key.
void make_curve_server(zmq::socket_t& socket, const CurveKeys& keys);
void make_curve_client(zmq::socket_t& socket, const CurveKeys& keys);

// Answers ZeroMQ's authentication requests (ZAP, RFC 27) for every CURVE server socket of `context`:
// it must exist before those sockets bind, and go before the context closes. A refusal is logged with the
// peer's address and key (once per key every 10 s, since a refused client keeps retrying) and counted.
class ZapHandler {
 public:
  ZapHandler(zmq::context_t& context, std::set<std::string> authorized, std::shared_ptr<spdlog::logger> log);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;
  std::uint64_t refused() const { return refused_.load(); }
  std::uint64_t admitted() const { return admitted_.load(); }

 private:
  void serve(zmq::socket_t* socket);
  std::set<std::string> authorized_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> refused_{0}, admitted_{0};
  std::unique_ptr<zmq::socket_t> socket_;
  std::thread thread_;
};

}  // namespace vnawire::runtime
