// Date expressions in an article's text ("du 10 au 13 septembre", "ngày 6/7", "July 6") as EDTF.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vnawire::extract {

struct Article;

struct DateMention {
  std::string text;  // as written, weekday and "du … au" included
  std::string edtf;  // "2022-07-06", "2022-09-10/2022-09-13", or "XXXX-07-06" when no year is known
};

// The dates written in `text`, in text order. `published` (EDTF, possibly only YYYY or YYYY-MM)
// supplies the year when the text gives none, as for a dateline (infer_year: within six months of
// publication). Relative words ("hier", "yesterday", "hôm qua") are resolved only against a full
// publication day.
std::vector<DateMention> find_dates(std::string_view text, const std::optional<std::string>& published);

// The dates of title, lead, body and captions, in that order, each EDTF value once.
std::vector<DateMention> collect_article_dates(const Article& article);

}  // namespace vnawire::extract
