// CURVE keys and authentication. Key files are plain Z85 text so that `vnawire keygen`, Kubernetes Secrets
// and hand-made files are all the same format.
#include "stages/runtime/curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>

#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "stages/runtime/options.h"
#include "stages/runtime/pipeline_config.h"

namespace vnawire::runtime {
namespace {

constexpr std::size_t kZ85KeyLength = 40;
constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

bool valid_z85_key(const std::string& text) {
  if (text.size() != kZ85KeyLength) return false;
  std::array<std::uint8_t, 32> raw{};
  return zmq_z85_decode(raw.data(), text.c_str()) != nullptr;
}

std::string z85_of(const zmq::message_t& binary) {
  if (binary.size() != 32) return "(not a 32-byte key)";
  std::array<char, kZ85KeyLength + 1> text{};
  zmq_z85_encode(text.data(), static_cast<const std::uint8_t*>(binary.data()), 32);
  return text.data();
}

Status write_key_file(const std::filesystem::path& path, const std::string& key, mode_t mode, bool force) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::error(path.string() + " exists: use --force to replace it");
    return Status::error("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  // The umask may have narrowed a public file, and --force keeps an old file's mode: set it outright.
  const std::string text = "# vnawire CURVE " + std::string(mode == 0600 ? "secret" : "public") +
                           " key (Z85), written by vnawire keygen\n" + key + "\n";
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  return ok ? Status() : Status::error("cannot write " + path.string() + ": " + std::strerror(error));
}

// The public keys of <dir>/*.public, or why one of them is not a key.
Result<std::set<std::string>> read_authorized(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Status::error(dir.string() + " is not a folder");
  std::set<std::string> keys;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".public") continue;
    auto key = read_key_file(entry.path(), false);
    if (!key) return Status::error(key.error());
    keys.insert(*key);
  }
  if (ec) return Status::error("cannot list " + dir.string() + ": " + ec.message());
  return keys;
}

}  // namespace

Result<std::string> read_key_file(const std::filesystem::path& path, bool secret) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return Status::error("cannot read " + path.string() + ": " + std::strerror(errno));
  // A secret key anyone can read is no secret: refuse it before anything uses it. Group bits are let through,
  // since Kubernetes gives a Secret volume's files to the pod's fsGroup.
  if (secret && (info.st_mode & 0007) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return Status::error(path.string() + " is a secret key readable by others (mode " + mode + "): chmod 600 it");
  }
  std::ifstream in(path);
  if (!in) return Status::error("cannot read " + path.string());
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (!valid_z85_key(line)) {
      return Status::error(path.string() + " does not hold a CURVE key (40 Z85 characters, as vnawire keygen writes)");
    }
    return line;
  }
  return Status::error(path.string() + " is empty: expected a CURVE key (vnawire keygen)");
}

Status write_key_pair(const std::filesystem::path& dir, const std::string& name, bool force) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
    return Status::error("'" + name + "' is not a key name (no slash, not starting with a dot)");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::error("cannot create " + dir.string() + ": " + ec.message());
  std::array<char, kZ85KeyLength + 1> public_key{}, secret_key{};
  if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0) {
    return Status::error(std::string("zmq_curve_keypair failed: ") + zmq_strerror(zmq_errno()));
  }
  const auto public_file = dir / (name + ".public");
  const auto secret_file = dir / (name + ".secret");
  // Checked for both first, so that a refusal never leaves half a pair behind.
  if (!force && (std::filesystem::exists(public_file) || std::filesystem::exists(secret_file))) {
    return Status::error((std::filesystem::exists(secret_file) ? secret_file : public_file).string() +
                         " exists: use --force to replace it");
  }
  if (auto written = write_key_file(secret_file, secret_key.data(), 0600, force); !written) return written;
  return write_key_file(public_file, public_key.data(), 0644, force);
}

std::vector<CurveProblem> check_curve_options(Options& pipeline, const std::filesystem::path& base_dir) {
  const std::array<const char*, 4> keys = {kCurveServerSecretKey, kCurveServerPublicKey, kCurveSecretKey,
                                           kCurveAuthorizedKeys};
  std::vector<CurveProblem> problems;
  int given = 0;
  for (const char* key : keys) given += pipeline.get_string(key).empty() ? 0 : 1;
  if (given == 0) return problems;
  if (given < 4) {
    for (const char* key : keys) {
      if (pipeline.get_string(key).empty()) {
        problems.push_back({key,
                            "CURVE needs all four of curve_server_secret_key, curve_server_public_key, "
                            "curve_secret_key and curve_authorized_keys; this one is missing"});
      }
    }
    return problems;
  }
  if (pipeline.get_string("transport") != "tcp") {
    problems.push_back(
        {kCurveServerSecretKey, "CURVE is for tcp endpoints: set transport: tcp (ipc stays on one host)"});
    return problems;
  }
  for (const char* key : keys) pipeline.set(key, absolute_from(pipeline.get_string(key), base_dir).string());
  auto server_secret = read_key_file(pipeline.get_string(kCurveServerSecretKey), true);
  if (!server_secret) problems.push_back({kCurveServerSecretKey, server_secret.error()});
  auto server_public = read_key_file(pipeline.get_string(kCurveServerPublicKey), false);
  if (!server_public) problems.push_back({kCurveServerPublicKey, server_public.error()});
  auto client_secret = read_key_file(pipeline.get_string(kCurveSecretKey), true);
  if (!client_secret) problems.push_back({kCurveSecretKey, client_secret.error()});
  auto authorized = read_authorized(pipeline.get_string(kCurveAuthorizedKeys));
  if (!authorized) problems.push_back({kCurveAuthorizedKeys, authorized.error()});
  if (server_secret && server_public) {
    std::array<char, kZ85KeyLength + 1> derived{};
    if (zmq_curve_public(derived.data(), server_secret->c_str()) != 0 || *server_public != derived.data()) {
      problems.push_back({kCurveServerPublicKey, "is not the public key of curve_server_secret_key"});
    }
  }
  return problems;
}

bool curve_enabled(const PipelineConfig& config) {
  return config.pipeline.get_string("transport") == "tcp" && !config.pipeline.get_string(kCurveSecretKey).empty();
}

Result<CurveKeys> load_curve_keys(const PipelineConfig& config) {
  CurveKeys keys;
  auto server_secret = read_key_file(config.pipeline.get_string(kCurveServerSecretKey), true);
  if (!server_secret) return Status::error(server_secret.error());
  auto server_public = read_key_file(config.pipeline.get_string(kCurveServerPublicKey), false);
  if (!server_public) return Status::error(server_public.error());
  auto client_secret = read_key_file(config.pipeline.get_string(kCurveSecretKey), true);
  if (!client_secret) return Status::error(client_secret.error());
  auto authorized = read_authorized(config.pipeline.get_string(kCurveAuthorizedKeys));
  if (!authorized) return Status::error(authorized.error());
  std::array<char, kZ85KeyLength + 1> client_public{};
  if (zmq_curve_public(client_public.data(), client_secret->c_str()) != 0) {
    return Status::error("cannot derive the public key of curve_secret_key");
  }
  keys.server_secret = *server_secret;
  keys.server_public = *server_public;
  keys.client_secret = *client_secret;
  keys.client_public = client_public.data();
  keys.authorized = std::move(*authorized);
  return keys;
}

void make_curve_server(zmq::socket_t& socket, const CurveKeys& keys) {
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, keys.server_secret);
  // Without a domain libzmq still asks the handler; naming it makes the logs say which pipeline refused.
  socket.set(zmq::sockopt::zap_domain, "vnawire");
}

void make_curve_client(zmq::socket_t& socket, const CurveKeys& keys) {
  socket.set(zmq::sockopt::curve_serverkey, keys.server_public);
  socket.set(zmq::sockopt::curve_publickey, keys.client_public);
  socket.set(zmq::sockopt::curve_secretkey, keys.client_secret);
}

ZapHandler::ZapHandler(zmq::context_t& context, std::set<std::string> authorized, std::shared_ptr<spdlog::logger> log)
    : authorized_(std::move(authorized)), log_(std::move(log)) {
  // Bound here, before the caller binds its CURVE sockets: a handshake that finds no handler is let through.
  socket_ = std::make_unique<zmq::socket_t>(context, zmq::socket_type::rep);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->bind(kZapEndpoint);
  thread_ = std::thread([this] { serve(socket_.get()); });
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  socket_.reset();
}

void ZapHandler::serve(zmq::socket_t* socket) {
  std::map<std::string, std::chrono::steady_clock::time_point> last_logged;
  while (!stop_) {
    zmq::pollitem_t item{static_cast<void*>(*socket), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
      std::vector<zmq::message_t> request;
      if (!zmq::recv_multipart(*socket, std::back_inserter(request))) continue;
      // RFC 27: version, request id, domain, address, routing id, mechanism, then the client's key.
      if (request.size() < 6) continue;
      const std::string address = request[3].to_string();
      const bool curve = request[5].to_string() == "CURVE" && request.size() >= 7;
      const std::string key = curve ? z85_of(request[6]) : "(none)";
      const bool admitted = curve && authorized_.count(key) > 0;
      if (admitted) {
        ++admitted_;
      } else {
        const auto refused_so_far = ++refused_;
        auto now = std::chrono::steady_clock::now();
        if (last_logged.size() > 10000) last_logged.clear();  // a peer making up keys must not grow it forever
        auto& last = last_logged[key];
        if (last == std::chrono::steady_clock::time_point{} || now - last > std::chrono::seconds(10)) {
          last = now;
          log_->warn("CURVE: refused a client at {} with key {} (not in curve_authorized_keys; {} refusal(s) so far)",
                     address, key, refused_so_far);
        }
      }
      const std::string user_id = admitted ? key : std::string();
      std::array<zmq::const_buffer, 6> reply = {
          zmq::str_buffer("1.0"),
          zmq::buffer(request[1].data(), request[1].size()),
          admitted ? zmq::str_buffer("200") : zmq::str_buffer("400"),
          admitted ? zmq::str_buffer("OK") : zmq::str_buffer("key not authorized"),
          zmq::buffer(user_id),
          zmq::str_buffer("")};
      (void)zmq::send_multipart(*socket, reply);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) {
        socket->close();  // the context's termination waits for this socket
        return;
      }
      log_->error("CURVE: the authentication handler failed: {}", e.what());
    }
  }
}

}  // namespace vnawire::runtime
