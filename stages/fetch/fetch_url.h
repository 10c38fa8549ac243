// URLs as the fetcher sees them: resolving links, the canonical form that ids derive from, and address safety.
#pragma once

#include <string>
#include <string_view>

struct sockaddr;

namespace vnawire::fetch {

// Whether `url` is an absolute http:// or https:// URL with a host.
bool is_http_url(std::string_view url);

// Resolves `link` (absolute, scheme-relative, root-relative or relative) against the absolute URL `base`.
// Returns "" when the result is not an absolute http(s) URL (mailto:, javascript:, garbage).
std::string resolve_url(std::string_view base, std::string_view link);

// The canonical form of an http(s) URL (docs/fetch.md): scheme and host lower-cased, default port dropped,
// fragment removed, tracking parameters removed (utm_*, fbclid, gclid, …), remaining query parameters sorted,
// empty path as "/", percent-encoding normalised. Returns "" when `url` is not an absolute http(s) URL.
std::string canonical_url(std::string_view url);

// "scheme://host[:port]" with the default port dropped: the unit politeness and robots.txt are kept per.
std::string origin_of(std::string_view url);
// The host alone, lower-cased ("" when unparsable).
std::string host_of(std::string_view url);
// Path and query ("/a/b?x=1"; "/" when empty): what robots.txt rules match against.
std::string path_and_query_of(std::string_view url);

// Percent-encoding as canonical_url and robots.txt matching compare it: hex digits upper-cased, unreserved
// characters (ALPHA DIGIT - . _ ~) decoded, reserved ones kept encoded, and bytes that may not stand bare in a
// URL (space, controls, non-ASCII, a stray "%") encoded. Shared so that both sides of a comparison agree.
std::string normalize_percent_encoding(std::string_view text);

// Whether an address must not be fetched without allow_private: loopback, RFC 1918 and other private ranges,
// link-local, carrier-grade NAT, unspecified, multicast, and their IPv6 counterparts (IPv4-mapped included).
bool is_private_address(const sockaddr* address);
// The same for a numeric address literal ("127.0.0.1", "::1"); false for anything that is not one.
bool is_private_address(std::string_view numeric_host);

}  // namespace vnawire::fetch
