// The HTTP client's response headers, against a one-reply server on 127.0.0.1 (the replay server sends no
// Content-Language).
#include "stages/fetch/fetch_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace vnawire::fetch {
namespace {

// Answers one connection with `reply` (the whole HTTP response), then closes.
class OneReplyServer {
 public:
  explicit OneReplyServer(std::string reply) : reply_(std::move(reply)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(listener_, 1);
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      char request[4096];
      (void)::recv(fd, request, sizeof request, 0);  // one read holds a GET's headers
      (void)::send(fd, reply_.data(), reply_.size(), 0);
      ::close(fd);
    });
  }
  ~OneReplyServer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/page.html"; }

 private:
  std::string reply_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(FetchHttp, ContentLanguageIsCaptured) {
  OneReplyServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\ncontent-language:  fr-FR \r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\nok");
  HttpClient client(HttpSettings{});
  client.submit(HttpRequest{1, server.url(), "", "", true});
  std::vector<HttpResponse> done;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done.empty() && std::chrono::steady_clock::now() < deadline) done = client.poll(std::chrono::milliseconds(50));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].failure, HttpFailure::None) << done[0].error;
  EXPECT_EQ(done[0].status, 200);
  EXPECT_EQ(done[0].content_language, "fr-FR");
  EXPECT_EQ(done[0].body, "ok");
}

}  // namespace
}  // namespace vnawire::fetch
