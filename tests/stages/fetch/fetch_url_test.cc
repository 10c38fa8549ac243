// Fetch URLs: resolving links, the canonical form, origins, and the private-address guard.
#include "stages/fetch/fetch_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <functional>

namespace vnawire::fetch {
namespace {

constexpr std::string_view kBase = "https://tin.example.vn/thoi-su/2024/bai-viet.html?trang=2#binh-luan";

// Rows of (input, expected output); the input is named in the failure message.
using Cases = std::initializer_list<std::pair<std::string_view, std::string_view>>;

void expect_each(const std::function<std::string(std::string_view)>& function, Cases cases) {
  for (const auto& [input, expected] : cases) EXPECT_EQ(function(input), expected) << "input: " << input;
}

std::function<std::string(std::string_view)> resolved_against(std::string_view base) {
  return [base](std::string_view link) { return resolve_url(base, link); };
}

void expect_predicate(bool (*predicate)(std::string_view), bool expected,
                      std::initializer_list<std::string_view> inputs) {
  for (const auto input : inputs) EXPECT_EQ(predicate(input), expected) << "input: " << input;
}

// Both overloads answer for each literal: the text one, and the socket one on the address the literal spells.
bool private_literal(std::string_view host) {
  const bool from_text = is_private_address(host);
  std::string bare(host.substr(host.starts_with('[') ? 1 : 0));
  bare = bare.substr(0, bare.find_first_of("]%"));
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, bare.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, bare.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    return from_text;
  }
  EXPECT_EQ(is_private_address(reinterpret_cast<const sockaddr*>(&storage)), from_text) << "socket form of " << host;
  return from_text;
}

TEST(FetchUrl, RecognisesAbsoluteHttpUrlsOnly) {
  expect_predicate(is_http_url, true,
                   {"http://example.vn", "HTTPS://Example.VN/a?b#c", "  https://example.vn/\n", "http://[::1]:8080/"});
  expect_predicate(
      is_http_url, false,
      {"", "example.vn/path", "/relative/path", "//example.vn/scheme-relative", "ftp://example.vn/file",
       "file:///etc/hosts", "mailto:toasoan@example.vn", "javascript:void(0)", "http://", "http://exa mple.vn/",
       "http://example.vn:99999/", std::string_view("http://example.vn/\0evil", 23)});
}

TEST(FetchUrl, ResolvesRelativeLinksLikeRfc3986) {
  expect_each(resolved_against(kBase),
              {
                  {"khac.html", "https://tin.example.vn/thoi-su/2024/khac.html"},
                  {"./khac.html", "https://tin.example.vn/thoi-su/2024/khac.html"},
                  {"../2023/cu.html", "https://tin.example.vn/thoi-su/2023/cu.html"},
                  {"../../../../../goc.html", "https://tin.example.vn/goc.html"},
                  {"..", "https://tin.example.vn/thoi-su/"},
                  {"/kinh-te/", "https://tin.example.vn/kinh-te/"},
                  {"?trang=3", "https://tin.example.vn/thoi-su/2024/bai-viet.html?trang=3"},
                  {"//cdn.example.vn/anh.jpg", "https://cdn.example.vn/anh.jpg"},
                  {"http://khac.example.vn/x", "http://khac.example.vn/x"},
                  // "#x" and "" keep the whole base (curl alone would drop the last segment and the query).
                  {"#dau-trang", "https://tin.example.vn/thoi-su/2024/bai-viet.html?trang=2#dau-trang"},
                  {"", "https://tin.example.vn/thoi-su/2024/bai-viet.html?trang=2"},
                  {" \t ", "https://tin.example.vn/thoi-su/2024/bai-viet.html?trang=2"},
                  // Sloppy links from HTML attributes are cleaned the way browsers clean them.
                  {"  /a b/c\n.html  ", "https://tin.example.vn/a%20b/c.html"},
                  {"/tìm-kiếm", "https://tin.example.vn/t%C3%ACm-ki%E1%BA%BFm"},
                  {"HTTPS://TIN.Example.VN:443/X", "https://tin.example.vn/X"},
                  {"x/%2e%2E/y", "https://tin.example.vn/thoi-su/2024/y"},
                  // Whatever does not end as an http(s) URL.
                  {"mailto:toasoan@example.vn", ""},
                  {"javascript:alert(1)", ""},
                  {"data:text/html,xin chao", ""},
                  {"ftp://example.vn/file", ""},
                  {"http://bad host/", ""},
              });
}

TEST(FetchUrl, ResolvingNeedsAUsableBaseForRelativeLinks) {
  expect_each(resolved_against("not a url"),
              {{"relative.html", ""}, {"#top", ""}, {"https://example.vn/ok", "https://example.vn/ok"}});
  expect_each(resolved_against(""), {{"/root", ""}});
  expect_each(resolved_against("file:///srv/a.html"), {{"b.html", ""}});
}

TEST(FetchUrl, CanonicalForm) {
  expect_each(canonical_url, {
                                 // Scheme and host lower-cased, the path left alone.
                                 {"HTTP://WWW.Example.VN/Thoi-Su/Bai.HTML", "http://www.example.vn/Thoi-Su/Bai.HTML"},
                                 // Default ports only are dropped.
                                 {"http://example.vn:80/a", "http://example.vn/a"},
                                 {"https://example.vn:443/a", "https://example.vn/a"},
                                 {"http://example.vn:0080/a", "http://example.vn/a"},
                                 {"http://example.vn:443/a", "http://example.vn:443/a"},
                                 {"https://example.vn:80/a", "https://example.vn:80/a"},
                                 {"http://example.vn:8080/a", "http://example.vn:8080/a"},
                                 {"http://example.vn:/a", "http://example.vn/a"},
                                 // Empty path, fragments, empty queries, dot segments.
                                 {"https://example.vn", "https://example.vn/"},
                                 {"https://example.vn#top", "https://example.vn/"},
                                 {"https://example.vn?", "https://example.vn/"},
                                 {"https://example.vn/a/./b/../c#x", "https://example.vn/a/c"},
                             });
}

TEST(FetchUrl, CanonicalRemovesTrackingParameters) {
  expect_each(
      canonical_url,
      {
          {"https://example.vn/a?utm_source=fb&utm_medium=social&utm_campaign=x&utm_whatever=1",
           "https://example.vn/a"},
          {"https://example.vn/a?id=7&fbclid=AbC&gclid=1&dclid=2&msclkid=3&mc_cid=4&mc_eid=5&_ga=6&igshid=7"
           "&yclid=8&ref_src=twsrc",
           "https://example.vn/a?id=7"},
          {"https://example.vn/a?UTM_Source=x&FBCLID=y&id=1", "https://example.vn/a?id=1"},
          {"https://example.vn/a?utm%5Fsource=x&id=1", "https://example.vn/a?id=1"},
          // Look-alikes are content, not tracking.
          {"https://example.vn/a?utm=1&ref=home&ga=2&gclid_x=3", "https://example.vn/a?ga=2&gclid_x=3&ref=home&utm=1"},
      });
}

TEST(FetchUrl, CanonicalSortsQueryByNameAndKeepsRepeatsInOrder) {
  expect_each(canonical_url,
              {
                  {"https://example.vn/s?z=1&a=2&m=3", "https://example.vn/s?a=2&m=3&z=1"},
                  {"https://example.vn/s?tag=b&id=1&tag=a&tag=c", "https://example.vn/s?id=1&tag=b&tag=a&tag=c"},
                  {"https://example.vn/s?b&a=&&c=1&", "https://example.vn/s?a=&b&c=1"},
                  {"https://example.vn/s?q=a+b&x=%2B", "https://example.vn/s?q=a+b&x=%2B"},
              });
  EXPECT_EQ(canonical_url("https://example.vn/s?a=1&b=2"), canonical_url("https://example.vn/s?b=2&a=1"));
}

TEST(FetchUrl, CanonicalNormalisesPercentEncoding) {
  expect_each(canonical_url,
              {
                  {"https://example.vn/%7euser/%2fx%3a", "https://example.vn/~user/%2Fx%3A"},
                  {"https://example.vn/%41%42%2D%5F%2E%30", "https://example.vn/AB-_.0"},
                  {"https://example.vn/h%E1%BB%8Dp", "https://example.vn/h%E1%BB%8Dp"},
                  {"https://example.vn/họp", "https://example.vn/h%E1%BB%8Dp"},
                  {"https://example.vn/100%/%zz", "https://example.vn/100%25/%25zz"},
                  {"https://example.vn/a%20b?c%3dd=%e2%82%ac", "https://example.vn/a%20b?c%3Dd=%E2%82%AC"},
              });
}

TEST(FetchUrl, CanonicalHostForms) {
  expect_each(canonical_url, {
                                 {"http://xn--BCher-KVA.example/", "http://xn--bcher-kva.example/"},
                                 {"http://Hà-Nội.example/", "http://hà-nội.example/"},
                                 {"http://[2001:DB8:0:0::1]:8080/x", "http://[2001:db8::1]:8080/x"},
                                 {"https://[::FFFF:7F00:1]/", "https://[::ffff:127.0.0.1]/"},
                                 {"http://0x7f.1/", "http://127.0.0.1/"},
                                 {"http://user:secret@Example.vn/", "http://user:secret@example.vn/"},
                             });
}

TEST(FetchUrl, CanonicalRefusesWhatIsNotHttp) {
  expect_each(
      canonical_url,
      {{"", ""}, {"/relative", ""}, {"ftp://example.vn/", ""}, {"http://exa mple.vn/", ""}, {"https://[::1/", ""}});
}

TEST(FetchUrl, CanonicalIsIdempotent) {
  for (const char* url : {"HTTP://A.example:80/%7ex/../y?utm_id=1&b=%c3%a9&a=1#f", "https://[::1]/p q?x y",
                          "https://example.vn/100%/ok?"}) {
    const std::string once = canonical_url(url);
    ASSERT_FALSE(once.empty()) << url;
    EXPECT_EQ(canonical_url(once), once) << url;
  }
}

TEST(FetchUrl, OriginHostAndPath) {
  expect_each(origin_of, {{"HTTPS://Tin.Example.VN:443/a/b?c#d", "https://tin.example.vn"},
                          {"http://tin.example.vn:8080/a", "http://tin.example.vn:8080"},
                          {"http://u:p@[::1]:81/", "http://[::1]:81"},
                          {"mailto:a@b.vn", ""}});
  expect_each(host_of,
              {{"https://Tin.Example.VN/x", "tin.example.vn"}, {"https://[FE80::1]/x", "fe80::1"}, {"garbage", ""}});
  expect_each(path_and_query_of, {{"https://example.vn", "/"},
                                  {"https://example.vn/a/b?x=1&utm_source=y#frag", "/a/b?x=1&utm_source=y"},
                                  {"https://example.vn/%7Ea?%61=1", "/~a?a=1"},
                                  {"nope", ""}});
}

TEST(FetchUrl, NormalisePercentEncoding) {
  expect_each(normalize_percent_encoding, {{"", ""},
                                           {"/a%2fb%3F", "/a%2Fb%3F"},
                                           {"%7E%2d%2E%5f%61", "~-._a"},
                                           {"%", "%25"},
                                           {"%4", "%254"},
                                           {"%g1", "%25g1"},
                                           {"a b\"<>|", "a%20b%22%3C%3E%7C"},
                                           {"é", "%C3%A9"},
                                           {"*$!&'()+,;=:@/?", "*$!&'()+,;=:@/?"},
                                           {"%2541", "%2541"}});
}

TEST(FetchUrl, PrivateIpv4Literals) {
  expect_predicate(private_literal, true,
                   {"127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",
                    "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3",
                    "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255"});
  expect_predicate(private_literal, false,
                   {"8.8.8.8", "172.15.255.255", "172.32.0.0", "192.167.1.1", "192.169.0.1", "100.63.255.255",
                    "100.128.0.0", "169.253.1.1", "11.0.0.1", "223.255.255.255", "1.1.1.1"});
}

TEST(FetchUrl, PrivateIpv6Literals) {
  expect_predicate(
      private_literal, true,
      {"::1", "::", "[::1]", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "febf::1", "fec0::1", "ff02::1",
       "FF05::2", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "[::ffff:192.168.0.1]", "::ffff:7f00:1"});
  expect_predicate(private_literal, false,
                   {"2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8", "fbff::1", "::2"});
}

TEST(FetchUrl, NamesAreNotAddresses) {
  // Only numeric literals count; curl turns the odd IPv4 forms ("0x7f.1") into dotted quads before this is asked.
  expect_predicate([](std::string_view host) { return is_private_address(host); }, false,
                   {"", "localhost", "example.vn", "127.0.0.1.example.vn", "0x7f.1", "2130706433", "127.1", "[::1",
                    "::1]", "1.2.3.4:80"});
}

TEST(FetchUrl, SocketAddressesUnknownToUsFailClosed) {
  // What cannot be read as an internet address is not fetched.
  sockaddr_un unix_socket{};
  unix_socket.sun_family = AF_UNIX;
  EXPECT_TRUE(is_private_address(reinterpret_cast<const sockaddr*>(&unix_socket)));
  EXPECT_TRUE(is_private_address(static_cast<const sockaddr*>(nullptr)));
}

}  // namespace
}  // namespace vnawire::fetch
