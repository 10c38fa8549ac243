// Datelines ("Hanoï, 6 juillet (VNA) – "), loose dates and the " date 2024-01 " header, as EDTF.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vnawire::extract {

struct DatelineMatch {
  std::optional<std::string> place;
  std::optional<std::string> date;  // EDTF, "XXXX-07-06" when the text gives no year
  std::size_t text_start = 0;       // byte offset of the paragraph's own text after the separator
};

// Recognises a paragraph that opens with a news-agency dateline: "<Place>[, <date>] (VNA) – ",
// also "(TTXVN)", "(VNA/VNS)" and friends, with any dash or colon (or none) after it.
std::optional<DatelineMatch> match_dateline(std::string_view paragraph);

// "6 juillet", "6 juillet 2023", "July 6", "6 de julio", "6/7", "06/07/2023", "2023-07-06",
// "ngày 6/7" -> EDTF; nullopt if the text is not one date.
std::optional<std::string> parse_loose_date(std::string_view text);

// " date 2024-01 rest…" (any case, optional colon) -> {"2024-01", offset of rest}.
std::optional<std::pair<std::string, std::size_t>> match_date_header(std::string_view line);

// Gives a year-less "XXXX-MM-DD" the year of `published` that puts it within six months of it (a
// dispatch dated in December but published in January belongs to the year before, an event announced
// in January for March to the same year); anything else is returned unchanged. The one rule for every
// year-less date extract reads: datelines and dates in the text alike.
std::string infer_year(const std::string& date, const std::optional<std::string>& published);

// "juillet", "july", "sept." (accent-folded, lower case) -> 7, 9; 0 for anything else.
int month_from_word(std::string_view folded_word);

// "mardi", "monday", "miercoles" (accent-folded, lower case): a weekday in a language VNA publishes in.
bool is_weekday(std::string_view folded_word);

// "6", "06", "1er", "1st" -> day of month; 0 for anything else.
int day_from_word(std::string_view folded_word);

// True for "YYYY", "YYYY-MM", "YYYY-MM-DD" (and X for unknown digits) with sane month and day.
bool is_edtf_date(std::string_view s);

}  // namespace vnawire::extract
