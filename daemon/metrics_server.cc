// The metrics endpoint: a small Beast HTTP/1.1 server, one request per connection, bounded in size, time and
// number of connections, so that a slow or hostile client cannot hold the supervisor's loop.
#include <utility>  // before Asio: Boost 1.74 Asio uses std::exchange without including it (g++ 12, C++20)

#include "daemon/metrics_server.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace vnawire::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kConnectionTimeout = std::chrono::seconds(5);
constexpr std::size_t kMaxConnections = 16;
constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::uint64_t kBodyLimit = 1024;
constexpr auto kSampleEvery = std::chrono::seconds(1);

std::string text(beast::string_view view) { return std::string(view.data(), view.size()); }

}  // namespace

std::string parse_host_port(const std::string& text, std::string& host, unsigned short& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return "'" + text + "' is not HOST:PORT";
  }
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string digits = text.substr(colon + 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 5 || std::stoul(digits) > 65535) {
    return "'" + text + "': the port must be a number from 0 to 65535";
  }
  port = static_cast<unsigned short>(std::stoul(digits));
  boost::system::error_code error;
  (void)asio::ip::make_address(host, error);
  if (error) return "'" + text + "': '" + host + "' is not an IP address";
  return "";
}

bool metrics_disabled(const std::string& address) { return address.empty() || address == "off"; }

class MetricsServer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, std::function<PipelineTotals()> totals, PipelineShape shape,
       std::chrono::milliseconds stuck_after)
      : acceptor_(io), sampler_(io), totals_(std::move(totals)), health_(std::move(shape), stuck_after) {}

  std::string start(const std::string& address) {
    std::string host;
    unsigned short port = 0;
    if (auto bad = parse_host_port(address, host, port); !bad.empty()) return "metrics_address " + bad;
    const tcp::endpoint endpoint(asio::ip::make_address(host), port);
    boost::system::error_code error;
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      acceptor_.close();
      return "cannot serve metrics on " + address + ": " + error.message() +
             " (set pipeline.metrics_address to another HOST:PORT, or \"off\")";
    }
    const auto bound = acceptor_.local_endpoint();
    address_ = (bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string()) + ":" +
               std::to_string(bound.port());
    accept();
    sample();
    return "";
  }
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    sampler_.cancel();
  }
  const std::string& address() const { return address_; }

 private:
  class Session;

  void accept();

  void sample() {
    health_.observe(totals_(), HealthTracker::Clock::now());
    sampler_.expires_after(kSampleEvery);
    sampler_.async_wait([self = shared_from_this()](boost::system::error_code error) {
      if (!error && self->acceptor_.is_open()) self->sample();
    });
  }

  // The answer to one request: status, content type, body.
  struct Answer {
    http::status status;
    std::string type, body;
  };
  Answer answer(const http::request<http::string_body>& request) {
    std::string path = text(request.target());
    path = path.substr(0, path.find('?'));
    const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz" || path == "/status";
    if (!known) return {http::status::not_found, "text/plain; charset=utf-8", "not found: try /metrics\n"};
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      return {http::status::method_not_allowed, "text/plain; charset=utf-8", "only GET\n"};
    }
    const PipelineTotals totals = totals_();
    const auto now = HealthTracker::Clock::now();
    if (path == "/metrics")
      return {http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
              render_prometheus(totals, &health_.shape())};
    if (path == "/healthz") {
      const std::string problem = health_.problem(totals, now);
      if (problem.empty()) return {http::status::ok, "text/plain; charset=utf-8", "ok\n"};
      return {http::status::service_unavailable, "text/plain; charset=utf-8", problem + "\n"};
    }
    if (path == "/readyz") {
      if (totals.ready && !totals.stopping) return {http::status::ok, "text/plain; charset=utf-8", "ready\n"};
      return {http::status::service_unavailable, "text/plain; charset=utf-8",
              totals.stopping ? "stopping\n" : "starting\n"};
    }
    const auto wall =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    return {http::status::ok, "application/json", status_json(totals, health_, now, wall).dump() + "\n"};
  }

  tcp::acceptor acceptor_;
  asio::steady_timer sampler_;
  std::function<PipelineTotals()> totals_;
  HealthTracker health_;
  std::string address_;
  std::size_t connections_ = 0;
};

// One connection, one request: read it within the limits, answer, close.
class MetricsServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Impl> server) : stream_(std::move(socket)), server_(std::move(server)) {
    ++server_->connections_;
  }
  ~Session() { --server_->connections_; }
  void start() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kConnectionTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_read(error); });
  }

 private:
  void on_read(beast::error_code error) {
    if (error == http::error::header_limit || error == http::error::body_limit) {
      return reply({http::status::payload_too_large, "text/plain; charset=utf-8", "request too large\n"}, false);
    }
    if (error) return;  // timeout, reset, garbage: drop the connection
    const auto& request = parser_->get();
    reply(server_->answer(request), request.method() == http::verb::head);
  }
  void reply(Answer answer, bool head) {
    response_.version(11);
    response_.result(answer.status);
    response_.set(http::field::server, "vnawire");
    response_.set(http::field::content_type, answer.type);
    if (answer.status == http::status::method_not_allowed) response_.set(http::field::allow, "GET, HEAD");
    response_.body() = head ? std::string() : std::move(answer.body);
    response_.prepare_payload();
    response_.keep_alive(false);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<Impl> server_;
};

void MetricsServer::Impl::accept() {
  acceptor_.async_accept([self = shared_from_this()](boost::system::error_code error, tcp::socket socket) {
    if (!self->acceptor_.is_open()) return;
    if (!error) {
      if (self->connections_ >= kMaxConnections) {
        boost::system::error_code ignored;
        socket.close(ignored);  // over the cap: refused at once rather than queued behind slow clients
      } else {
        std::make_shared<Session>(std::move(socket), self)->start();
      }
    }
    self->accept();
  });
}

MetricsServer::MetricsServer(asio::io_context& io, std::function<PipelineTotals()> totals, PipelineShape shape,
                             std::chrono::milliseconds stuck_after)
    : impl_(std::make_shared<Impl>(io, std::move(totals), std::move(shape), stuck_after)) {}
MetricsServer::~MetricsServer() { stop(); }
std::string MetricsServer::start(const std::string& address) { return impl_->start(address); }
std::string MetricsServer::address() const { return impl_->address(); }
void MetricsServer::stop() { impl_->stop(); }

StartedMetrics start_metrics_server(asio::io_context& io, const runtime::PipelineConfig& config,
                                    std::function<PipelineTotals()> totals) {
  const std::string address = config.pipeline.get_string("metrics_address");
  if (metrics_disabled(address)) return {};
  PipelineShape shape;
  for (const auto& stage : config.stages) {
    shape.stages.push_back(stage.name);
    shape.inputs[stage.name] = stage.inputs;
  }
  // Stuck: waiting work and no progress for longer than a replica may stay silent before it is killed.
  const auto stuck_after = std::max(std::chrono::milliseconds(3 * config.pipeline.get_int("stage_timeout_ms")),
                                    std::chrono::milliseconds(30000));
  StartedMetrics started;
  started.server = std::make_unique<MetricsServer>(io, std::move(totals), std::move(shape), stuck_after);
  started.error = started.server->start(address);
  if (!started.error.empty()) started.server.reset();
  return started;
}

}  // namespace vnawire::daemon
