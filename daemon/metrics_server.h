// The daemon's HTTP endpoint on loopback: /metrics (Prometheus), /healthz, /readyz and /status (JSON for
// `vnawire status`). It runs on the supervisor's io_context; Beast stays in metrics_server.cc.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "daemon/metrics.h"
#include "stages/runtime/pipeline_config.h"

namespace boost::asio {
class io_context;
}

namespace vnawire::daemon {

// Splits "HOST:PORT" (HOST may be [v6]); returns why it cannot, or "".
std::string parse_host_port(const std::string& text, std::string& host, unsigned short& port);

// Whether `metrics_address` asks for no server ("" or "off").
bool metrics_disabled(const std::string& address);

class MetricsServer {
 public:
  // `totals` is called on the io_context's thread for every request and every sample.
  MetricsServer(boost::asio::io_context& io, std::function<PipelineTotals()> totals, PipelineShape shape,
                std::chrono::milliseconds stuck_after);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts serving; returns "" or why it cannot ("cannot listen on 127.0.0.1:9464: Address in use").
  std::string start(const std::string& address);
  // The bound address, "HOST:PORT" (the real port when the address asked for port 0).
  std::string address() const;
  void stop();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

// The server for `config`'s metrics_address, started; no server when the address is "" or "off", and an error
// (naming the address) when it cannot listen.
struct StartedMetrics {
  std::unique_ptr<MetricsServer> server;
  std::string error;
};
StartedMetrics start_metrics_server(boost::asio::io_context& io, const runtime::PipelineConfig& config,
                                    std::function<PipelineTotals()> totals);

}  // namespace vnawire::daemon
