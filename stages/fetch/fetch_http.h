// The fetcher's HTTP client: many transfers in flight on one curl multi handle, driven by the stage's loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vnawire::fetch {

struct HttpSettings {
  std::string user_agent = "vnawire/0.1";
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};
  std::size_t max_bytes = 16u << 20;  // of the decoded body: a gzip bomb is cut off here
  int max_redirects = 5;
  std::string proxy;    // "" ignores the *_proxy environment variables
  std::string ca_file;  // a PEM bundle trusted instead of the system's ("" = the system's)
};

struct HttpRequest {
  std::uint64_t tag = 0;  // the caller's handle, returned with the response
  std::string url;
  std::string if_none_match;      // an ETag from an earlier response, or ""
  std::string if_modified_since;  // a Last-Modified from an earlier response, or ""
  bool allow_private = false;     // permit loopback, private and link-local addresses
};

// Why a transfer produced no usable response. Retryable: Timeout, Connect, Resolve, Reset.
enum class HttpFailure { None, Timeout, Connect, Resolve, Reset, TooLarge, Redirects, Refused, Tls, Other };
const char* failure_name(HttpFailure failure);
bool is_retryable(HttpFailure failure);

struct HttpResponse {
  std::uint64_t tag = 0;
  std::string url;                // as requested
  HttpFailure failure = HttpFailure::None;
  std::string error;              // human-readable when failure != None
  long status = 0;                // final HTTP status (after redirects)
  std::string final_url;          // after redirects
  std::string content_type;       // the header as sent
  std::string content_encoding;
  std::string content_language;   // the Content-Language header as sent, a hint for langid
  std::string etag;
  std::string last_modified;
  std::optional<std::chrono::seconds> retry_after;  // from Retry-After (seconds or an HTTP date)
  std::string body;               // decoded (gzip/deflate/br undone), at most max_bytes
  std::uint64_t wire_bytes = 0;   // bytes received, headers excluded, before decoding
  std::chrono::microseconds elapsed{0};
};

class HttpClient {
 public:
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a transfer; its response comes out of a later poll(). Only http and https are fetched.
  void submit(HttpRequest request);
  // Moves transfers along, waiting at most `wait` for network activity, and returns those that finished.
  std::vector<HttpResponse> poll(std::chrono::milliseconds wait);
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a Retry-After value: delta seconds or an HTTP date (relative to now); nullopt when unparsable.
std::optional<std::chrono::seconds> parse_retry_after(const std::string& value);

}  // namespace vnawire::fetch
