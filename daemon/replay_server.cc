// The replay server's networking: one io_context run by N threads, one Beast session per keep-alive connection,
// a steady_timer per delayed request. What to answer comes from Site (replay_site.cc); Beast and Asio stay here.
#include <utility>  // before Asio: Boost 1.74 Asio uses std::exchange without including it (g++ 12, C++20)

#include "daemon/replay_server.h"

#include <atomic>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "daemon/replay_site.h"

namespace vnawire::replay {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kIdleTimeout = std::chrono::seconds(30);    // a keep-alive connection with no request
constexpr auto kWriteTimeout = std::chrono::seconds(300);  // room for an oversize body to a slow reader
constexpr std::size_t kRequestLimit = 1 << 20;

std::string text(beast::string_view view) { return std::string(view.data(), view.size()); }

// What the sessions share: the site and the in-flight counters.
struct Shared {
  explicit Shared(const ReplaySettings& settings) : site(settings) {}
  Site site;
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> max_in_flight{0};

  void begin_request() {
    const std::uint64_t now = ++in_flight;
    std::uint64_t seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
  }
  void end_request() { --in_flight; }
};

// One connection: read a request, wait out its delay, answer, and read the next while the client keeps it alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared)
      : stream_(std::move(socket)), delay_(stream_.get_executor()), shared_(shared) {}
  ~Session() {
    if (in_request_) shared_.end_request();
  }
  void start() { read(); }

 private:
  void read() {
    request_ = {};
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, request_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  // The status that answers a request Beast could not parse; 0 when there is nobody to answer.
  static unsigned refusal_status(const beast::error_code& error) {
    if (error == http::error::header_limit) return 431;
    if (error == http::error::body_limit) return 413;
    const bool malformed = error.category() == http::make_error_code(http::error::bad_method).category();
    return malformed && error != http::error::partial_message ? 400 : 0;
  }

  void on_read(beast::error_code error, std::size_t) {
    if (error == http::error::end_of_stream) return close();
    const unsigned refusal = refusal_status(error);
    if (error && refusal == 0) return;  // idle timeout, reset or a request cut short: drop the connection
    in_request_ = true;
    started_ = std::chrono::steady_clock::now();
    shared_.begin_request();
    if (refusal != 0) {
      reply_ = plain_reply(refusal, "cannot read this request: " + error.message() + "\n");
      return send(false);
    }
    const std::string target = text(request_.target());
    plan_ = shared_.site.admit(std::string_view(target).substr(0, target.find('?')));
    if (plan_.delay.count() == 0) return respond();
    // The stream's own timer must not cut a connection that only waits for its injected delay.
    stream_.expires_never();
    delay_.expires_after(plan_.delay);
    delay_.async_wait([self = shared_from_this()](beast::error_code wait_error) {
      if (!wait_error) self->respond();
    });
  }

  void respond() {
    const Request request{text(request_.method_string()),
                          text(request_.target()),
                          text(request_[http::field::host]),
                          text(request_[http::field::if_none_match]),
                          text(request_[http::field::if_modified_since]),
                          text(request_[http::field::accept_encoding]),
                          text(request_[http::field::content_type]),
                          text(request_[http::field::authorization]),
                          request_.body(),
                          text(request_["Idempotency-Key"])};
    reply_ = shared_.site.answer(request, plan_.effect);
    send(request_.keep_alive() && !reply_.truncate);
  }

  void send(bool keep_alive) {
    response_ = {};
    response_.version(request_.version());
    response_.result(reply_.status);
    response_.set(http::field::server, "vnawire-replay");
    for (const auto& [name, value] : reply_.headers) response_.set(name, value);
    const std::size_t full = reply_.body->size();
    const std::size_t sent = reply_.head_only ? 0 : reply_.truncate ? full / 2 : full;
    response_.body() = {reply_.body->data(), sent};
    // Set by hand, not by prepare_payload: a truncated reply announces more than it sends.
    if (reply_.status != 304 && reply_.status != 204) response_.content_length(full);
    keep_alive_ = keep_alive;
    response_.keep_alive(keep_alive_);
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, response_, beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code error, std::size_t bytes) {
    in_request_ = false;
    shared_.end_request();
    if (spdlog::should_log(spdlog::level::debug)) {
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
      spdlog::debug("{} {} -> {} ({} bytes, {} ms{}{})", text(request_.method_string()), text(request_.target()),
                    reply_.status, bytes, elapsed.count(), plan_.effect ? ", fault" : "",
                    error ? ", " + error.message() : "");
    }
    reply_ = {};
    if (error) return;
    if (!keep_alive_) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  asio::steady_timer delay_;
  Shared& shared_;
  beast::flat_buffer buffer_{kRequestLimit + 16 * 1024};
  http::request<http::string_body> request_;
  http::response<http::span_body<const char>> response_;
  Reply reply_;  // owns the bytes response_ points into
  FaultPlan plan_;
  bool keep_alive_ = true;
  bool in_request_ = false;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

struct ReplayServer::Impl {
  explicit Impl(ReplaySettings replay_settings) : settings(std::move(replay_settings)), shared(settings) {}

  void accept() {
    acceptor->async_accept(asio::make_strand(*io), [this](beast::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (error) {
        // Out of descriptors, most likely: try again shortly rather than spin.
        accept_pause->expires_after(std::chrono::milliseconds(50));
        accept_pause->async_wait([this](beast::error_code wait_error) {
          if (!wait_error) accept();
        });
        return;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), shared)->start();
      accept();
    });
  }

  void schedule_release() {
    release_timer->expires_at(release_timer->expiry() + settings.release_every);
    release_timer->async_wait([this](beast::error_code error) {
      if (error) return;
      shared.site.catalogue().rescan();
      shared.site.catalogue().release_next();
      schedule_release();
    });
  }

  runtime::Status bind(const std::string& host, int port_number) {
    beast::error_code error;
    const auto address = asio::ip::make_address(host, error);
    if (error) {
      return runtime::Status::error("bad listen address \"" + settings.listen + "\": \"" + host +
                                    "\" is not an IP address (use 127.0.0.1, ::1 or localhost)");
    }
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(port_number));
    acceptor.emplace(*io);
    acceptor->open(endpoint.protocol(), error);
    if (!error) acceptor->set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor->bind(endpoint, error);
    if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      acceptor.reset();
      return runtime::Status::error("cannot listen on " + settings.listen + ": " + error.message());
    }
    port = acceptor->local_endpoint().port();
    const std::string shown = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    base_url = "http://" + shown + ":" + std::to_string(port);
    return {};
  }

  void run_thread() {
    for (;;) {
      try {
        io->run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("replay: a request failed: {}", e.what());
      }
    }
  }

  ReplaySettings settings;
  Shared shared;
  int port = 0;
  std::string base_url;
  bool started = false;
  // The context goes in stop(), after the objects that use it, taking the sessions it still holds along.
  std::unique_ptr<asio::io_context> io;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> release_timer;
  std::optional<asio::steady_timer> accept_pause;
  std::vector<std::thread> threads;
};

ReplayServer::ReplayServer(ReplaySettings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}

ReplayServer::~ReplayServer() { stop(); }

runtime::Status ReplayServer::start() {
  Impl& impl = *impl_;
  if (impl.started) return runtime::Status::error("the replay server was already started");
  auto listen = parse_listen(impl.settings.listen);
  if (!listen) return runtime::Status::error(listen.error());
  std::error_code error;
  if (!std::filesystem::is_directory(impl.settings.directory, error)) {
    return runtime::Status::error("no such folder: " + impl.settings.directory.string());
  }
  if (auto scanned = impl.shared.site.catalogue().rescan(); !scanned) return scanned;
  const int threads = std::clamp(impl.settings.threads, 1, 64);
  impl.io = std::make_unique<asio::io_context>(threads);
  if (auto bound = impl.bind(listen->first, listen->second); !bound) {
    impl.io.reset();
    return bound;
  }
  impl.started = true;
  impl.shared.site.set_base_url(impl.base_url);
  impl.accept_pause.emplace(*impl.io);
  impl.release_timer.emplace(*impl.io);
  if (impl.settings.release_every.count() > 0) {
    // The first file is out at once; each period adds one more.
    impl.shared.site.catalogue().release_next();
    impl.release_timer->expires_after(std::chrono::milliseconds(0));
    impl.schedule_release();
  }
  impl.accept();
  for (int i = 0; i < threads; ++i) impl.threads.emplace_back([&impl] { impl.run_thread(); });
  return {};
}

void ReplayServer::stop() {
  Impl& impl = *impl_;
  if (!impl.io) return;
  impl.io->stop();
  for (auto& thread : impl.threads) thread.join();
  impl.threads.clear();
  impl.acceptor.reset();
  impl.release_timer.reset();
  impl.accept_pause.reset();
  impl.io.reset();
}

int ReplayServer::port() const { return impl_->port; }
std::string ReplayServer::base_url() const { return impl_->base_url; }
bool ReplayServer::release_next() { return impl_->shared.site.catalogue().release_next(); }
std::size_t ReplayServer::released() const { return impl_->shared.site.catalogue().released(); }
std::vector<Posted> ReplayServer::inbox() const { return impl_->shared.site.inbox(); }
std::size_t ReplayServer::pending() const { return impl_->shared.site.catalogue().pending(); }
std::uint64_t ReplayServer::requests_total() const { return impl_->shared.site.requests_total(); }
std::uint64_t ReplayServer::requests_for(const std::string& path) const {
  return impl_->shared.site.requests_for(path);
}
std::uint64_t ReplayServer::max_in_flight() const { return impl_->shared.max_in_flight.load(); }

}  // namespace vnawire::replay
