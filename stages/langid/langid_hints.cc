// Language hints from the record that fetch produced (fetch.language, fetch.content_language, fetch.feed_language).
#include "stages/langid/langid_hints.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "stages/runtime/ascii_text.h"

namespace vnawire::langid {
namespace {

// The languages VNA's editions are named by, in host labels and path segments.
constexpr std::array<std::string_view, 10> kEditions = {"vi", "en", "fr", "es", "ru", "zh", "lo", "km", "ja", "ko"};


// The value of attribute `name` inside one tag's text (`<html lang="fr" ...>`); "" when absent. `name` must be
// preceded by white space so that "xml:lang" does not match "lang" and "data-lang" does not either.
std::string attribute_value(std::string_view tag, std::string_view name) {
  const std::string low = runtime::ascii_lowered(tag);
  for (std::size_t at = low.find(name); at != std::string::npos; at = low.find(name, at + 1)) {
    if (at == 0 || !std::isspace(static_cast<unsigned char>(low[at - 1]))) continue;
    std::size_t i = at + name.size();
    while (i < low.size() && std::isspace(static_cast<unsigned char>(low[i]))) ++i;
    if (i >= low.size() || low[i] != '=') continue;
    ++i;
    while (i < low.size() && std::isspace(static_cast<unsigned char>(low[i]))) ++i;
    if (i >= low.size()) return "";
    const char quote = low[i] == '"' || low[i] == '\'' ? low[i] : '\0';
    if (quote != '\0') ++i;
    std::size_t end = i;
    while (end < low.size() &&
           (quote ? low[end] != quote : !std::isspace(static_cast<unsigned char>(low[end])) && low[end] != '>')) {
      ++end;
    }
    return std::string(tag.substr(i, end - i));
  }
  return "";
}

// Each `<name ...>` tag's text in `html`, in order, for the callback until it returns true.
template <typename Visit>
void for_each_tag(std::string_view html, std::string_view name, Visit visit) {
  const std::string low = runtime::ascii_lowered(html);
  const std::string open = "<" + std::string(name);
  for (std::size_t at = low.find(open); at != std::string::npos; at = low.find(open, at + 1)) {
    const std::size_t after = at + open.size();
    if (after < low.size() && std::isalnum(static_cast<unsigned char>(low[after]))) continue;
    const std::size_t close = low.find('>', after);
    if (close == std::string::npos) return;
    if (visit(html.substr(at, close - at))) return;
  }
}

}  // namespace

std::string primary_language(std::string_view tag) {
  while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.front()))) tag.remove_prefix(1);
  while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.back()))) tag.remove_suffix(1);
  if (tag.find(',') != std::string_view::npos) return "";  // several languages name none
  const std::size_t end = std::min(tag.find_first_of("-_"), tag.size());
  const std::string primary = runtime::ascii_lowered(tag.substr(0, end));
  if (primary.size() < 2 || primary.size() > 3) return "";
  if (!std::all_of(primary.begin(), primary.end(), [](char c) { return c >= 'a' && c <= 'z'; })) return "";
  if (primary == "und" || primary == "mul" || primary == "zxx" || primary == "mis") return "";
  return primary;
}

std::string html_declared_language(std::string_view html) {
  // The declarations live in the head; a bounded prefix keeps this cheap on large pages.
  html = html.substr(0, std::min<std::size_t>(html.size(), 64 * 1024));
  std::string found;
  for_each_tag(html, "html", [&](std::string_view tag) {
    found = primary_language(attribute_value(tag, "lang"));
    if (found.empty()) found = primary_language(attribute_value(tag, "xml:lang"));
    return true;
  });
  if (!found.empty()) return found;
  for_each_tag(html, "meta", [&](std::string_view tag) {
    if (runtime::ascii_lowered(attribute_value(tag, "http-equiv")) != "content-language") return false;
    found = primary_language(attribute_value(tag, "content"));
    return true;
  });
  return found;
}

std::string url_edition(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  const std::size_t slash = std::min(rest.find('/'), rest.size());
  const std::string host = runtime::ascii_lowered(rest.substr(0, slash));
  std::string_view path = rest.substr(slash);
  auto edition = [](std::string_view candidate) {
    const std::string low = runtime::ascii_lowered(candidate);
    return std::find(kEditions.begin(), kEditions.end(), low) != kEditions.end() ? low : std::string();
  };
  const std::size_t dot = host.find('.');
  // A bare "fr.com" names a site, not an edition: the label must be followed by another label and a TLD.
  if (dot != std::string::npos && host.find('.', dot + 1) != std::string::npos) {
    if (std::string code = edition(std::string_view(host).substr(0, dot)); !code.empty()) return code;
  }
  if (path.size() > 1) {
    path.remove_prefix(1);
    const std::size_t end = path.find_first_of("/?#");
    if (end == std::string_view::npos) return "";  // "/fr" alone is a page, "/fr/" is a section
    return edition(path.substr(0, end));
  }
  return "";
}

std::vector<LanguageHint> hints_of(const nlohmann::json& record, std::string_view body, bool is_html) {
  std::vector<LanguageHint> hints;
  auto add = [&hints](std::string code, const char* from) {
    if (!code.empty()) hints.push_back({std::move(code), from});
  };
  const nlohmann::json* fetch = record.contains("fetch") && record["fetch"].is_object() ? &record["fetch"] : nullptr;
  auto fetch_string = [fetch](const char* key) {
    if (fetch == nullptr || !fetch->contains(key) || !(*fetch)[key].is_string()) return std::string();
    return primary_language((*fetch)[key].get<std::string>());
  };
  add(fetch_string("language"), "source");
  if (is_html) add(html_declared_language(body), "html");
  add(fetch_string("content_language"), "content_language");
  add(fetch_string("feed_language"), "feed");
  if (record.contains("url") && record["url"].is_string()) add(url_edition(record["url"].get<std::string>()), "url");
  return hints;
}

}  // namespace vnawire::langid
