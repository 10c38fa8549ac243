// Dates as feeds and sitemaps write them (RFC 822 and ISO 8601 / W3C datetime), normalised to ISO 8601 UTC.
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdio>
#include <string>
#include <string_view>

#include "stages/fetch/fetch_feed.h"
#include "stages/fetch/fetch_text.h"

namespace vnawire::fetch {
namespace {

struct DateTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  long offset_seconds = 0;  // east of UTC
};

std::string to_utc(const DateTime& t) {
  using namespace std::chrono;
  const year_month_day date{year{t.year}, month{static_cast<unsigned>(t.month)}, day{static_cast<unsigned>(t.day)}};
  if (t.year < 1000 || t.year > 9999 || !date.ok() || t.hour > 23 || t.minute > 59 || t.second > 60) return "";
  const sys_seconds instant = sys_days{date} + hours{t.hour} + minutes{t.minute} + seconds{t.second} -
                              seconds{t.offset_seconds};  // a leap second rolls into the next minute
  const sys_days utc_day = floor<days>(instant);
  const year_month_day utc{utc_day};
  const hh_mm_ss clock{instant - utc_day};
  char out[32];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(utc.year()),
                static_cast<unsigned>(utc.month()), static_cast<unsigned>(utc.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return out;
}

// Reads exactly `count` digits (or 1..count when `at_least_one`) at `s`, advancing it.
bool take_digits(std::string_view& s, std::size_t count, int& value, bool at_least_one = false) {
  std::size_t n = 0;
  value = 0;
  while (n < count && n < s.size() && s[n] >= '0' && s[n] <= '9') value = value * 10 + (s[n++] - '0');
  if (n == 0 || (!at_least_one && n != count)) return false;
  s.remove_prefix(n);
  return true;
}

bool take(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// A zone: "Z", "+hh:mm", "+hhmm", "+hh" or a name. In RFC 822 dates, names beyond the known ones are read as
// UTC, as RFC 2822 (4.3) says; ICT is known because Vietnamese sites write it.
bool parse_zone(std::string_view zone, long& offset_seconds, bool unknown_names_are_utc) {
  zone = trim(zone);
  if (zone.empty()) return true;  // no zone: taken as UTC
  if (zone.front() == '+' || zone.front() == '-') {
    const int sign = zone.front() == '-' ? -1 : 1;
    zone.remove_prefix(1);
    int hours = 0, minutes = 0;
    if (!take_digits(zone, 2, hours)) return false;
    take(zone, ':');
    if (!zone.empty() && !take_digits(zone, 2, minutes)) return false;
    if (!trim(zone).empty() && trim(zone).front() != '(') return false;
    offset_seconds = sign * (hours * 3600L + minutes * 60L);
    return hours < 24 && minutes < 60;
  }
  const std::string_view name = zone.substr(0, zone.find_first_of(" ("));
  static const std::pair<const char*, int> kZones[] = {{"GMT", 0},  {"UT", 0},   {"UTC", 0},  {"Z", 0},    {"EST", -5},
                                                       {"EDT", -4}, {"CST", -6}, {"CDT", -5}, {"MST", -7}, {"MDT", -6},
                                                       {"PST", -8}, {"PDT", -7}, {"ICT", 7}};
  for (const auto& [zone_name, hours] : kZones) {
    if (iequals(name, zone_name)) {
      offset_seconds = hours * 3600L;
      return true;
    }
  }
  return unknown_names_are_utc && name.size() <= 5 &&
         name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == std::string_view::npos;
}

std::string parse_iso8601(std::string_view s) {
  DateTime t;
  t.day = 1;
  if (!take_digits(s, 4, t.year) || !take(s, '-') || !take_digits(s, 2, t.month)) return "";
  if (take(s, '-') && !take_digits(s, 2, t.day)) return "";
  if (!s.empty() && (s.front() == 'T' || s.front() == 't' || s.front() == ' ') && s.size() > 1 &&
      std::isdigit(static_cast<unsigned char>(s[1]))) {
    s.remove_prefix(1);
    if (!take_digits(s, 2, t.hour) || !take(s, ':') || !take_digits(s, 2, t.minute)) return "";
    if (take(s, ':') && !take_digits(s, 2, t.second)) return "";
    if (take(s, '.') || take(s, ',')) {
      int ignored = 0;
      if (!take_digits(s, 1, ignored, true)) return "";
      while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    }
  }
  if (!parse_zone(s, t.offset_seconds, false)) return "";
  return to_utc(t);
}

int month_number(std::string_view name) {
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (name.size() < 3) return 0;
  for (int i = 0; i < 12; ++i) {
    if (istarts_with(name, kMonths[i])) return i + 1;
  }
  return 0;
}

// "[Wkd,] DD Mon YYYY [HH:MM[:SS]] [zone]", tolerant of full day and month names, 2-digit years and a
// missing comma.
std::string parse_rfc822(std::string_view s) {
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < s.size();) {
    while (i < s.size() && (is_space(s[i]) || s[i] == ',')) ++i;
    std::size_t end = i;
    while (end < s.size() && !is_space(s[end]) && s[end] != ',') ++end;
    if (end > i) words.push_back(s.substr(i, end - i));
    i = end;
  }
  std::size_t w = 0;
  if (w < words.size() && std::isalpha(static_cast<unsigned char>(words[w][0]))) ++w;  // the weekday
  if (words.size() < w + 3) return "";
  DateTime t;
  std::string_view day = words[w], year = words[w + 2];
  t.month = month_number(words[w + 1]);
  if (t.month == 0 || !take_digits(day, 2, t.day, true) || !day.empty()) return "";
  const std::size_t year_digits = year.size();
  if (!take_digits(year, 4, t.year, true) || !year.empty() || year_digits == 1) return "";
  if (year_digits == 2) t.year += t.year < 50 ? 2000 : 1900;
  if (year_digits == 3) t.year += 1900;
  w += 3;
  if (w < words.size() && words[w].find(':') != std::string_view::npos) {
    std::string_view clock = words[w++];
    if (!take_digits(clock, 2, t.hour, true) || !take(clock, ':') || !take_digits(clock, 2, t.minute)) return "";
    if (take(clock, ':') && !take_digits(clock, 2, t.second)) return "";
    if (!clock.empty()) return "";
  }
  if (w < words.size() && !parse_zone(s.substr(words[w].data() - s.data()), t.offset_seconds, true)) return "";
  return to_utc(t);
}

}  // namespace

std::string normalise_date(std::string_view text) {
  text = trim(text);
  if (text.size() < 7 || text.size() > 64) return "";
  const bool iso = std::isdigit(static_cast<unsigned char>(text[0])) && text.size() > 4 && text[4] == '-';
  return iso ? parse_iso8601(text) : parse_rfc822(text);
}

}  // namespace vnawire::fetch
