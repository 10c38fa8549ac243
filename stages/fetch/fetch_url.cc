// URLs as the fetcher sees them: libcurl's URL API parses and resolves, this file canonicalises and guards.
#include "stages/fetch/fetch_url.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "stages/fetch/fetch_text.h"

namespace vnawire::fetch {
namespace {

using CurlUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

// The pieces of a parsed absolute http(s) URL, already lower-cased where case does not matter.
struct UrlParts {
  std::string scheme;
  std::string userinfo;  // "user" or "user:password", without the "@"
  std::string host;      // IPv6 literals keep their brackets
  std::string port;      // "" when absent or the scheme's default
  std::string path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

constexpr std::array<std::string_view, 10> kTrackingParameters = {"fbclid", "gclid", "dclid",  "msclkid", "mc_cid",
                                                                  "mc_eid", "_ga",   "igshid", "yclid",   "ref_src"};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// Bytes that RFC 3986 never allows bare; browsers encode them before sending, so ids must too.
bool must_be_encoded(unsigned char c) { return c <= 0x20 || c >= 0x7F || std::strchr("\"<>\\^`{|}", c) != nullptr; }

void append_encoded(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 0x0F];
}

// Links arrive from HTML attributes: browsers trim C0 controls and spaces and drop tabs and newlines inside.
std::optional<std::string> cleaned_input(std::string_view url) {
  auto is_trimmed = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
  while (!url.empty() && is_trimmed(url.front())) url.remove_prefix(1);
  while (!url.empty() && is_trimmed(url.back())) url.remove_suffix(1);
  std::string out;
  out.reserve(url.size());
  for (char c : url) {
    if (c == '\0') return std::nullopt;  // libcurl takes C strings: a NUL would silently cut the URL short
    if (c != '\t' && c != '\n' && c != '\r') out += c;
  }
  return out;
}

// CURLU_ALLOW_SPACE: a space in a path is a sloppy link, not garbage; curl encodes it and keeps the rest.
bool set_url(CURLU* handle, const std::string& url) {
  return curl_url_set(handle, CURLUPART_URL, url.c_str(), CURLU_ALLOW_SPACE) == CURLUE_OK;
}

std::optional<std::string> get_part(CURLU* handle, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(handle, part, &value, 0) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}

// One spelling per IPv6 address ("[::FFFF:7f00:1]" and "[::ffff:127.0.0.1]" are the same host).
std::string normalized_host(std::string host) {
  host = ascii_lowered(host);
  if (host.size() < 2 || host.front() != '[' || host.back() != ']') return host;
  const std::string literal = host.substr(1, host.size() - 2);
  in6_addr address{};
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET6, literal.c_str(), &address) != 1) return host;
  if (inet_ntop(AF_INET6, &address, text, sizeof text) == nullptr) return host;
  return "[" + std::string(text) + "]";
}

std::optional<UrlParts> parts_of(CURLU* handle) {
  UrlParts parts;
  parts.scheme = ascii_lowered(get_part(handle, CURLUPART_SCHEME).value_or(""));
  if (parts.scheme != "http" && parts.scheme != "https") return std::nullopt;
  parts.host = normalized_host(get_part(handle, CURLUPART_HOST).value_or(""));
  if (parts.host.empty()) return std::nullopt;
  if (auto user = get_part(handle, CURLUPART_USER)) {
    parts.userinfo = *user;
    if (auto password = get_part(handle, CURLUPART_PASSWORD)) parts.userinfo += ":" + *password;
  }
  parts.port = get_part(handle, CURLUPART_PORT).value_or("");
  if ((parts.scheme == "http" && parts.port == "80") || (parts.scheme == "https" && parts.port == "443")) {
    parts.port.clear();
  }
  parts.path = get_part(handle, CURLUPART_PATH).value_or("/");
  parts.query = get_part(handle, CURLUPART_QUERY);
  parts.fragment = get_part(handle, CURLUPART_FRAGMENT);
  return parts;
}

std::optional<UrlParts> parse_absolute(std::string_view url) {
  const auto cleaned = cleaned_input(url);
  if (!cleaned) return std::nullopt;
  CurlUrl handle(curl_url(), curl_url_cleanup);
  if (!handle || !set_url(handle.get(), *cleaned)) return std::nullopt;
  return parts_of(handle.get());
}

// RFC 3986 5.2.4. curl already did this once, but decoding "%2E" can bring dot segments back.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> kept;
  std::size_t start = path.empty() || path.front() != '/' ? 0 : 1;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const bool last = slash == std::string_view::npos;
    const std::string_view segment = path.substr(start, last ? std::string_view::npos : slash - start);
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      if (last) kept.emplace_back();
    } else if (segment == ".") {
      if (last) kept.emplace_back();
    } else {
      kept.push_back(segment);
    }
    if (last) break;
    start = slash + 1;
  }
  std::string out;
  for (auto segment : kept) {
    out += '/';
    out += segment;
  }
  return out.empty() ? "/" : out;
}

std::string normalized_path(std::string_view path) {
  return path.empty() ? "/" : remove_dot_segments(normalize_percent_encoding(path));
}

bool is_tracking_parameter(std::string_view name) {
  const std::string lowered = ascii_lowered(name);
  if (lowered.starts_with("utm_")) return true;
  return std::find(kTrackingParameters.begin(), kTrackingParameters.end(), lowered) != kTrackingParameters.end();
}

// Tracking parameters dropped, the rest sorted by name; the sort is stable so that repeated names ("a=2&a=1")
// keep their order, which servers may read as a list.
std::string canonical_query(std::string_view query) {
  std::vector<std::string> parameters;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string parameter = normalize_percent_encoding(query.substr(start, amp - start));
    const std::string_view name = std::string_view(parameter).substr(0, parameter.find('='));
    if (!parameter.empty() && !is_tracking_parameter(name)) parameters.push_back(std::move(parameter));
    start = amp + 1;
  }
  auto name_of = [](const std::string& parameter) {
    return std::string_view(parameter).substr(0, parameter.find('='));
  };
  std::stable_sort(parameters.begin(), parameters.end(),
                   [&](const std::string& a, const std::string& b) { return name_of(a) < name_of(b); });
  std::string out;
  for (const auto& parameter : parameters) {
    if (!out.empty()) out += '&';
    out += parameter;
  }
  return out;
}

std::string origin_from(const UrlParts& parts) {
  return parts.scheme + "://" + parts.host + (parts.port.empty() ? "" : ":" + parts.port);
}

std::string compose(const UrlParts& parts, const std::string& path, const std::string& query,
                    const std::optional<std::string>& fragment) {
  std::string out = parts.scheme + "://";
  if (!parts.userinfo.empty()) out += parts.userinfo + "@";
  out += parts.host;
  if (!parts.port.empty()) out += ":" + parts.port;
  out += path;
  if (!query.empty()) out += "?" + query;
  if (fragment) out += "#" + normalize_percent_encoding(*fragment);
  return out;
}

bool private_ipv4(std::uint32_t address_host_order) {
  const unsigned a = address_host_order >> 24;
  const unsigned b = (address_host_order >> 16) & 0xFF;
  return a == 0 || a == 10 || a == 127 || (a == 100 && (b & 0xC0) == 64) || (a == 169 && b == 254) ||
         (a == 172 && (b & 0xF0) == 16) || (a == 192 && b == 168) || a >= 224;  // 224/4, 240/4, broadcast
}

bool private_ipv6(const unsigned char (&bytes)[16]) {
  static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(bytes, kMappedPrefix, sizeof kMappedPrefix) == 0) {
    return private_ipv4(std::uint32_t{bytes[12]} << 24 | std::uint32_t{bytes[13]} << 16 |
                        std::uint32_t{bytes[14]} << 8 | bytes[15]);
  }
  const bool zero_prefix = std::all_of(bytes, bytes + 15, [](unsigned char b) { return b == 0; });
  if (zero_prefix && bytes[15] <= 1) return true;       // :: and ::1
  if ((bytes[0] & 0xFE) == 0xFC) return true;           // fc00::/7 unique local
  if (bytes[0] == 0xFE && (bytes[1] & 0x80) == 0x80) {  // fe80::/10 link-local and fec0::/10 old site-local
    return true;
  }
  return bytes[0] == 0xFF;  // ff00::/8 multicast
}

}  // namespace

std::string normalize_percent_encoding(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      const auto decoded = static_cast<unsigned char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      if (is_unreserved(decoded)) {
        out += static_cast<char>(decoded);
      } else {
        append_encoded(out, decoded);
      }
      i += 2;
    } else if (c == '%' || must_be_encoded(c)) {
      append_encoded(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool is_http_url(std::string_view url) { return parse_absolute(url).has_value(); }

std::string resolve_url(std::string_view base, std::string_view link) {
  const auto cleaned_base = cleaned_input(base);
  const auto cleaned_link = cleaned_input(link);
  if (!cleaned_link) return "";
  CurlUrl handle(curl_url(), curl_url_cleanup);
  if (!handle) return "";
  const bool has_base = cleaned_base && set_url(handle.get(), *cleaned_base);
  // curl resolves "#x" and "" against the base's directory; RFC 3986 keeps the whole base and swaps the fragment.
  if (has_base && (cleaned_link->empty() || cleaned_link->front() == '#')) {
    const char* fragment = cleaned_link->empty() ? nullptr : cleaned_link->c_str() + 1;
    if (curl_url_set(handle.get(), CURLUPART_FRAGMENT, fragment, 0) != CURLUE_OK) return "";
  } else if (!set_url(handle.get(), *cleaned_link)) {
    return "";
  }
  const auto parts = parts_of(handle.get());
  if (!parts) return "";
  return compose(*parts, normalized_path(parts->path), normalize_percent_encoding(parts->query.value_or("")),
                 parts->fragment);
}

std::string canonical_url(std::string_view url) {
  const auto parts = parse_absolute(url);
  if (!parts) return "";
  return compose(*parts, normalized_path(parts->path), canonical_query(parts->query.value_or("")), std::nullopt);
}

std::string origin_of(std::string_view url) {
  const auto parts = parse_absolute(url);
  return parts ? origin_from(*parts) : "";
}

std::string host_of(std::string_view url) {
  const auto parts = parse_absolute(url);
  if (!parts) return "";
  // The bare address, as a resolver and is_private_address take it.
  if (parts->host.front() == '[') return parts->host.substr(1, parts->host.size() - 2);
  return parts->host;
}

std::string path_and_query_of(std::string_view url) {
  const auto parts = parse_absolute(url);
  if (!parts) return "";
  std::string out = normalized_path(parts->path);
  const std::string query = normalize_percent_encoding(parts->query.value_or(""));
  if (!query.empty()) out += "?" + query;
  return out;
}

bool is_private_address(const sockaddr* address) {
  if (address == nullptr) return true;  // fail closed: an address we cannot read is not one we may fetch
  if (address->sa_family == AF_INET) {
    return private_ipv4(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    unsigned char bytes[16];
    std::memcpy(bytes, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, sizeof bytes);
    return private_ipv6(bytes);
  }
  return true;
}

bool is_private_address(std::string_view numeric_host) {
  std::string literal(numeric_host);
  if (literal.size() >= 2 && literal.front() == '[' && literal.back() == ']')
    literal = literal.substr(1, literal.size() - 2);
  in_addr v4{};
  if (inet_pton(AF_INET, literal.c_str(), &v4) == 1) return private_ipv4(ntohl(v4.s_addr));
  const std::size_t zone = literal.find('%');  // "fe80::1%eth0": the zone names an interface, not the address
  if (zone != std::string::npos) literal.resize(zone);
  in6_addr v6{};
  if (inet_pton(AF_INET6, literal.c_str(), &v6) != 1) return false;
  unsigned char bytes[16];
  std::memcpy(bytes, &v6, sizeof bytes);
  return private_ipv6(bytes);
}

}  // namespace vnawire::fetch
