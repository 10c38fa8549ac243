// What a news fetcher knows about a document's language before reading it: page markup, headers, feed, URL, source.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vnawire::langid {

struct LanguageHint {
  std::string code;  // ISO 639-1 primary subtag, lower case
  std::string from;  // "source", "html", "content_language", "feed" or "url"
};

// A language tag ("fr-FR", "FR", "zh-Hant") as its primary subtag ("fr", "zh"); "" for lists ("fr, en"),
// "und"/"mul"/"zxx" and anything that is not a tag.
std::string primary_language(std::string_view tag);

// `<html lang>` (or xml:lang), else `<meta http-equiv="content-language" content>`, from the page's head; "".
std::string html_declared_language(std::string_view html);

// The edition a URL names: a first host label or first path segment that is a language VNA publishes in
// ("fr.vietnamplus.vn", "https://vnanet.vn/fr/..."); "" otherwise.
std::string url_edition(std::string_view url);

// Every hint a record carries, most trusted first: the source's configured language (an operator said so),
// the page's own declaration, the Content-Language header, the feed's language, then the URL's edition.
std::vector<LanguageHint> hints_of(const nlohmann::json& record, std::string_view body, bool is_html);

}  // namespace vnawire::langid
