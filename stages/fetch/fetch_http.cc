// libcurl multi: one easy handle per transfer (pooled), private addresses refused at connect time, bodies bounded.
#include "stages/fetch/fetch_http.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include "stages/fetch/fetch_text.h"
#include "stages/fetch/fetch_url.h"

namespace vnawire::fetch {
namespace {

void ensure_curl_initialised() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

const char* failure_name(HttpFailure failure) {
  switch (failure) {
    case HttpFailure::None: return "none";
    case HttpFailure::Timeout: return "timeout";
    case HttpFailure::Connect: return "connect";
    case HttpFailure::Resolve: return "resolve";
    case HttpFailure::Reset: return "reset";
    case HttpFailure::TooLarge: return "too_large";
    case HttpFailure::Redirects: return "redirects";
    case HttpFailure::Refused: return "refused";
    case HttpFailure::Tls: return "tls";
    case HttpFailure::Other: return "other";
  }
  return "other";
}

bool is_retryable(HttpFailure failure) {
  return failure == HttpFailure::Timeout || failure == HttpFailure::Connect || failure == HttpFailure::Resolve ||
         failure == HttpFailure::Reset;
}

std::optional<std::chrono::seconds> parse_retry_after(const std::string& value) {
  const std::string text(trim(value));
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (text.size() > 9) return std::chrono::seconds(999999999);
    return std::chrono::seconds(std::stoll(text));
  }
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

struct Transfer {
  HttpRequest request;
  HttpResponse response;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::size_t max_bytes = 0;
  bool too_large = false;
  bool refused_private = false;
  std::chrono::steady_clock::time_point started;
};

namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (transfer->response.body.size() + n > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  auto& response = transfer->response;
  if (line.substr(0, 5) == "HTTP/") {  // a new response (after a redirect or a 100): forget the previous headers
    response.content_type.clear();
    response.content_encoding.clear();
    response.content_language.clear();
    response.etag.clear();
    response.last_modified.clear();
    response.retry_after.reset();
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string_view name = line.substr(0, colon);
  const std::string value(trim(line.substr(colon + 1)));
  if (iequals(name, "content-type")) response.content_type = value;
  else if (iequals(name, "content-encoding")) response.content_encoding = value;
  else if (iequals(name, "content-language")) response.content_language = value;
  else if (iequals(name, "etag")) response.etag = value;
  else if (iequals(name, "last-modified")) response.last_modified = value;
  else if (iequals(name, "retry-after")) response.retry_after = parse_retry_after(value);
  return n;
}

curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN && !transfer->request.allow_private && is_private_address(&address->addr)) {
    transfer->refused_private = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

HttpFailure classify(CURLcode code) {
  switch (code) {
    case CURLE_OK: return HttpFailure::None;
    case CURLE_OPERATION_TIMEDOUT: return HttpFailure::Timeout;
    case CURLE_COULDNT_CONNECT: return HttpFailure::Connect;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return HttpFailure::Resolve;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return HttpFailure::Reset;
    case CURLE_TOO_MANY_REDIRECTS: return HttpFailure::Redirects;
    case CURLE_UNSUPPORTED_PROTOCOL: return HttpFailure::Refused;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM: return HttpFailure::Tls;
    default: return HttpFailure::Other;
  }
}

}  // namespace

struct HttpClient::Impl {
  HttpSettings settings;
  CURLM* multi = nullptr;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> running;
  std::vector<CURL*> idle;  // easy handles kept for reuse (their connection cache lives in the multi handle)
  std::vector<HttpResponse> immediate;  // refused before any network activity

  void configure(Transfer& transfer) {
    CURL* easy = transfer.easy;
    curl_easy_setopt(easy, CURLOPT_URL, transfer.request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, static_cast<long>(settings.max_redirects));
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(settings.total_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, settings.user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_PROXY, settings.proxy.c_str());
    if (!settings.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, settings.ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &transfer);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &transfer);
    if (static_cast<long long>(settings.max_bytes) < (1LL << 40)) {
      curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(settings.max_bytes));
    }
    if (!transfer.request.if_none_match.empty()) {
      transfer.headers =
          curl_slist_append(transfer.headers, ("If-None-Match: " + transfer.request.if_none_match).c_str());
    }
    if (!transfer.request.if_modified_since.empty()) {
      transfer.headers =
          curl_slist_append(transfer.headers, ("If-Modified-Since: " + transfer.request.if_modified_since).c_str());
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headers);
  }

  HttpResponse finish(Transfer& transfer, CURLcode code) {
    HttpResponse response = std::move(transfer.response);
    CURL* easy = transfer.easy;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
    char* final_url = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &final_url) == CURLE_OK && final_url) {
      response.final_url = final_url;
    }
    curl_off_t downloaded = 0;
    if (curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &downloaded) == CURLE_OK) {
      response.wire_bytes = static_cast<std::uint64_t>(downloaded);
    }
    response.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                             transfer.started);
    response.failure = classify(code);
    if (transfer.refused_private) {
      response.failure = HttpFailure::Refused;
      response.error = "refused: the address is loopback, private or link-local (set allow_private to permit)";
    } else if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      response.failure = HttpFailure::TooLarge;
      response.error = "body larger than max_bytes (" + std::to_string(settings.max_bytes) + " bytes, decoded)";
    } else if (code == CURLE_TOO_MANY_REDIRECTS) {
      response.error = "more than " + std::to_string(settings.max_redirects) + " redirects (stopped at " +
                       response.final_url + ")";
    } else if (code != CURLE_OK) {
      response.error = curl_easy_strerror(code);
    }
    if (response.failure != HttpFailure::None) response.body.clear();
    return response;
  }

  void release(Transfer& transfer) {
    curl_slist_free_all(transfer.headers);
    transfer.headers = nullptr;
    curl_easy_reset(transfer.easy);
    if (idle.size() < 256) {
      idle.push_back(transfer.easy);
    } else {
      curl_easy_cleanup(transfer.easy);
    }
  }
};

HttpClient::HttpClient(HttpSettings settings) : impl_(std::make_unique<Impl>()) {
  ensure_curl_initialised();
  impl_->settings = std::move(settings);
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
}

HttpClient::~HttpClient() {
  for (auto& [easy, transfer] : impl_->running) {
    curl_multi_remove_handle(impl_->multi, easy);
    curl_slist_free_all(transfer->headers);
    curl_easy_cleanup(easy);
  }
  for (CURL* easy : impl_->idle) curl_easy_cleanup(easy);
  curl_multi_cleanup(impl_->multi);
}

void HttpClient::submit(HttpRequest request) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->response.tag = transfer->request.tag;
  transfer->response.url = transfer->request.url;
  transfer->max_bytes = impl_->settings.max_bytes;
  transfer->started = std::chrono::steady_clock::now();
  if (!is_http_url(transfer->request.url)) {
    transfer->response.failure = HttpFailure::Refused;
    transfer->response.error = "refused: only absolute http and https URLs are fetched";
    impl_->immediate.push_back(std::move(transfer->response));
    return;
  }
  if (impl_->idle.empty()) {
    transfer->easy = curl_easy_init();
  } else {
    transfer->easy = impl_->idle.back();
    impl_->idle.pop_back();
  }
  impl_->configure(*transfer);
  CURL* easy = transfer->easy;
  impl_->running.emplace(easy, std::move(transfer));
  curl_multi_add_handle(impl_->multi, easy);
}

std::vector<HttpResponse> HttpClient::poll(std::chrono::milliseconds wait) {
  std::vector<HttpResponse> done = std::move(impl_->immediate);
  impl_->immediate.clear();
  if (impl_->running.empty()) return done;
  int still_running = 0;
  curl_multi_perform(impl_->multi, &still_running);
  if (done.empty() && wait.count() > 0) {
    int ignored = 0;
    curl_multi_poll(impl_->multi, nullptr, 0, static_cast<int>(wait.count()), &ignored);
    curl_multi_perform(impl_->multi, &still_running);
  }
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(impl_->multi, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    curl_multi_remove_handle(impl_->multi, easy);
    auto it = impl_->running.find(easy);
    if (it == impl_->running.end()) continue;
    done.push_back(impl_->finish(*it->second, code));
    impl_->release(*it->second);
    impl_->running.erase(it);
  }
  return done;
}

std::size_t HttpClient::in_flight() const { return impl_->running.size() + impl_->immediate.size(); }

}  // namespace vnawire::fetch
