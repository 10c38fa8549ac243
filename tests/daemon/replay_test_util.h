// Helpers for the replay server tests: a scratch folder of dispatches, a libcurl client, gunzip and XML queries.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/replay_server.h"

namespace vnawire::replay::testing {

// A fresh folder under the temp dir, removed with the object.
class Folder {
 public:
  Folder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vnawire-replay-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~Folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
  }

 private:
  std::filesystem::path path_;
};

struct HttpResult {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, of the last response
  std::chrono::milliseconds elapsed{0};
  long connects = 0;  // new connections this transfer opened (0: a kept-alive one was reused)
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpOptions {
  std::vector<std::string> headers;
  bool decode_gzip = false;  // let libcurl inflate a gzip body (and announce Accept-Encoding: gzip)
  bool follow = false;
  long max_redirects = 5;
  bool head = false;
  std::string post;
};

inline std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<HttpResult*>(out)->body.append(data, size * count);
  return size * count;
}

inline std::size_t append_header(char* data, std::size_t size, std::size_t count, void* out) {
  auto* result = static_cast<HttpResult*>(out);
  std::string line(data, size * count);
  if (line.starts_with("HTTP/")) result->headers.clear();
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    result->headers[name] = value;
  }
  return size * count;
}

// One easy handle set up for `url`; the caller owns it and the header list.
inline CURL* make_handle(const std::string& url, HttpResult& result, const HttpOptions& options,
                         curl_slist** header_list) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (options.decode_gzip) curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
  if (options.follow) {
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, options.max_redirects);
  }
  if (options.head) curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!options.post.empty()) curl_easy_setopt(curl, CURLOPT_COPYPOSTFIELDS, options.post.c_str());
  *header_list = nullptr;
  for (const auto& header : options.headers) *header_list = curl_slist_append(*header_list, header.c_str());
  if (*header_list != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *header_list);
  return curl;
}

inline void collect(CURL* curl, HttpResult& result) {
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &result.connects);
}

inline HttpResult http_get(const std::string& url, const HttpOptions& options = {}) {
  HttpResult result;
  curl_slist* header_list = nullptr;
  CURL* curl = make_handle(url, result, options, &header_list);
  const auto start = std::chrono::steady_clock::now();
  result.code = curl_easy_perform(curl);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  collect(curl, result);
  curl_easy_cleanup(curl);
  curl_slist_free_all(header_list);
  return result;
}

// Runs every URL at once, each on its own easy handle of one multi handle; `handles` may carry kept-alive
// connections from one round to the next (pass the same vector again).
inline std::vector<HttpResult> http_get_all(const std::vector<std::string>& urls, std::vector<CURL*>& handles,
                                            CURLM* multi) {
  std::vector<HttpResult> results(urls.size());
  std::vector<curl_slist*> lists(urls.size(), nullptr);
  for (std::size_t i = 0; i < urls.size(); ++i) {
    if (handles.size() <= i) {
      handles.push_back(make_handle(urls[i], results[i], {}, &lists[i]));
    } else {
      curl_easy_setopt(handles[i], CURLOPT_URL, urls[i].c_str());
      curl_easy_setopt(handles[i], CURLOPT_WRITEDATA, &results[i]);
      curl_easy_setopt(handles[i], CURLOPT_HEADERDATA, &results[i]);
    }
    curl_multi_add_handle(multi, handles[i]);
  }
  int running = 1;
  while (running > 0) {
    curl_multi_perform(multi, &running);
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    for (std::size_t i = 0; i < handles.size(); ++i) {
      if (handles[i] == message->easy_handle) results[i].code = message->data.result;
    }
  }
  for (std::size_t i = 0; i < urls.size(); ++i) {
    collect(handles[i], results[i]);
    curl_multi_remove_handle(multi, handles[i]);
    curl_slist_free_all(lists[i]);
  }
  return results;
}

inline std::string gunzip(const std::string& data) {
  z_stream stream{};
  inflateInit2(&stream, 15 + 32);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char chunk[65536];
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
  }
  inflateEnd(&stream);
  return status == Z_STREAM_END ? out : "<corrupt gzip>";
}

// A parsed XML document; null when the text is not well-formed.
class Xml {
 public:
  explicit Xml(const std::string& text)
      : doc_(xmlReadMemory(text.data(), static_cast<int>(text.size()), "replay.xml", nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) {}
  ~Xml() { xmlFreeDoc(doc_); }
  Xml(const Xml&) = delete;
  Xml& operator=(const Xml&) = delete;
  bool well_formed() const { return doc_ != nullptr; }
  std::string root() const { return doc_ ? name_of(xmlDocGetRootElement(doc_)) : ""; }
  // Text of every element with this local name (and namespace prefix, when written "news:title"), in order.
  std::vector<std::string> texts(const std::string& name) const {
    std::vector<std::string> out;
    if (doc_) walk(xmlDocGetRootElement(doc_), name, out);
    return out;
  }

 private:
  static std::string name_of(xmlNode* node) {
    std::string name = reinterpret_cast<const char*>(node->name);
    if (node->ns && node->ns->prefix) name = std::string(reinterpret_cast<const char*>(node->ns->prefix)) + ":" + name;
    return name;
  }
  static void walk(xmlNode* node, const std::string& name, std::vector<std::string>& out) {
    for (; node != nullptr; node = node->next) {
      if (node->type != XML_ELEMENT_NODE) continue;
      if (name_of(node) == name) {
        xmlChar* content = xmlNodeGetContent(node);
        out.emplace_back(content ? reinterpret_cast<const char*>(content) : "");
        xmlFree(content);
      }
      walk(node->children, name, out);
    }
  }
  xmlDocPtr doc_;
};

// Sends `bytes` as they are on a fresh loopback connection and returns all the server writes before it closes.
inline std::string raw_exchange(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string received;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char chunk[4096];
    ssize_t got = 0;
    while ((got = ::recv(fd, chunk, sizeof chunk, 0)) > 0) received.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return received;
}

// Polls `condition` every 10 ms until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Four dispatches written for these tests: titles with markup characters, an HTML page with a <title> holding
// entities, and a file in ISO-8859-1 (not UTF-8). The titles first, as the feeds must show them.
inline const std::string kRailTitle = "Hà Nội lance la modernisation du rail & des gares <nord>";
inline const std::string kDeltaTitle = "Le delta du Mékong se prépare à une saison sèche \"précoce\"";
inline const std::string kForumTitle = "Forum économique : l'ASEAN & le Vietnam";
inline const std::string kLatin1Title = "Coopération régionale renforcée sur le fleuve";

inline const std::string kRail = kRailTitle +
                                 "\n\nHanoï, 2 mars (VNA) – Le ministère des Transports a présenté lundi un programme "
                                 "de rénovation de quarante gares entre la capitale et Lào Cai. -VNA\n";
// Blank lines and stray spaces before the title line.
inline const std::string kDelta = "\n   \n  " + kDeltaTitle +
                                  "  \n\nCan Tho, 3 mars (VNA) – Les provinces du delta renforcent leurs réserves "
                                  "d'eau douce. -VNA\n";
inline const std::string kForum =
    "<!DOCTYPE html>\n<html lang=\"fr\">\n<head><meta charset=\"utf-8\">\n"
    "<title>Forum économique : l&#39;ASEAN &amp; le Vietnam</title></head>\n"
    "<body><h1>Forum économique</h1><p>Hô Chi Minh-Ville (VNA) – Dix délégations ont débattu des chaînes "
    "logistiques.</p></body></html>\n";
// kLatin1Title in ISO-8859-1 bytes.
inline const std::string kLatin1 =
    "Coop\xe9ration r\xe9gionale renforc\xe9"
    "e sur le fleuve\n\nDa Nang (VNA) - Texte envoy\xe9 en ISO-8859-1.\n";

// A folder holding the four dispatches (plus two files the site must ignore) and a server over it.
class ReplayFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_.write("a-rail.txt", kRail);
    folder_.write("b-delta.txt", kDelta);
    folder_.write("c-forum.html", kForum);
    folder_.write("d-latin1.txt", kLatin1);
    folder_.write("notes.md", "not a dispatch\n");
    folder_.write(".e-draft.txt", "hidden draft\n");
  }
  ReplayServer& start(ReplaySettings settings = {}) {
    settings.directory = folder_.path();
    server_ = std::make_unique<ReplayServer>(std::move(settings));
    const auto started = server_->start();
    EXPECT_TRUE(started.ok()) << started.message();
    return *server_;
  }
  std::string url(const std::string& path) const { return server_->base_url() + path; }
  HttpResult get(const std::string& path, const HttpOptions& options = {}) const {
    return http_get(url(path), options);
  }

  Folder folder_;
  std::unique_ptr<ReplayServer> server_;
};

}  // namespace vnawire::replay::testing
