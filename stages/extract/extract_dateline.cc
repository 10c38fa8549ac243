// Datelines ("Hanoï, 6 juillet (VNA) – "), loose dates and the " date 2024-01 " header, as EDTF.
#include "stages/extract/extract_dateline.h"

#include <array>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "stages/extract/extract_text_util.h"
#include "stages/runtime/ascii_text.h"

namespace vnawire::extract {
namespace {

// Month names and usual abbreviations, accent-folded, in the languages VNA publishes.
const std::unordered_map<std::string, int> kMonths = {
    {"janvier", 1},   {"janv", 1},       {"jan", 1},        {"january", 1},   {"enero", 1},      {"ene", 1},
    {"fevrier", 2},   {"fevr", 2},       {"fev", 2},        {"february", 2},  {"feb", 2},        {"febrero", 2},
    {"mars", 3},      {"mar", 3},        {"march", 3},      {"marzo", 3},     {"avril", 4},      {"avr", 4},
    {"april", 4},     {"apr", 4},        {"abril", 4},      {"abr", 4},       {"mai", 5},        {"may", 5},
    {"mayo", 5},      {"juin", 6},       {"june", 6},       {"jun", 6},       {"junio", 6},      {"juillet", 7},
    {"juil", 7},      {"july", 7},       {"jul", 7},        {"julio", 7},     {"aout", 8},       {"august", 8},
    {"aug", 8},       {"agosto", 8},     {"ago", 8},        {"septembre", 9}, {"sept", 9},       {"sep", 9},
    {"september", 9}, {"septiembre", 9}, {"setiembre", 9},  {"octobre", 10},  {"oct", 10},       {"october", 10},
    {"octubre", 10},  {"novembre", 11},  {"nov", 11},       {"november", 11}, {"noviembre", 11}, {"decembre", 12},
    {"dec", 12},      {"december", 12},  {"diciembre", 12}, {"dic", 12}};

// Weekday names, accent-folded: a dateline and a date in the text may both open with one.
const std::unordered_set<std::string> kWeekdays = {"lundi",    "mardi",  "mercredi", "jeudi",     "vendredi",  "samedi",
                                                   "dimanche", "monday", "tuesday",  "wednesday", "thursday",  "friday",
                                                   "saturday", "sunday", "lunes",    "martes",    "miercoles", "jueves",
                                                   "viernes",  "sabado", "domingo"};

// Words that may stand around a date without changing it: articles, "ngày" (day) and weekdays.
const std::unordered_set<std::string> kDateFiller = {"le", "the", "el", "de", "del", "on", "ngay", "nam"};

bool is_date_filler(const std::string& folded_word) {
  return kDateFiller.count(folded_word) != 0 || kWeekdays.count(folded_word) != 0;
}

int to_int(std::string_view s) {
  int v = 0;
  for (const char c : s) v = v * 10 + (c - '0');
  return v;
}

std::string edtf(int year, int month, int day) {
  char buf[48];  // room for any int, so that -Wformat-truncation has nothing to say
  if (year > 0 && day > 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  } else if (year > 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  } else {
    std::snprintf(buf, sizeof buf, "XXXX-%02d-%02d", month, day);
  }
  return buf;
}

std::optional<std::string> make_date(int year, int month, int day) {
  if (month < 1 || month > 12) return std::nullopt;
  if (day < 0 || day > 31 || (day == 0 && year == 0)) return std::nullopt;
  if (year != 0 && (year < 1900 || year > 2199)) return std::nullopt;
  return edtf(year, month, day);
}

// "06/07/2023", "6/7", "6-7-2023", "2023-07-06", "2023-07": day first except when the year leads.
std::optional<std::string> parse_numeric(std::string_view tok) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= tok.size(); ++i) {
    if (i == tok.size() || tok[i] == '/' || tok[i] == '-' || tok[i] == '.') {
      parts.push_back(tok.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  for (const auto p : parts) {
    if (!runtime::all_digits(p) || p.size() > 4) return std::nullopt;
  }
  if (parts[0].size() == 4) {
    return make_date(to_int(parts[0]), to_int(parts[1]), parts.size() == 3 ? to_int(parts[2]) : 0);
  }
  if (parts[0].size() > 2 || parts[1].size() > 2) return std::nullopt;
  const int year = parts.size() == 3 && parts[2].size() == 4 ? to_int(parts[2]) : 0;
  if (parts.size() == 3 && year == 0) return std::nullopt;
  return make_date(year, to_int(parts[1]), to_int(parts[0]));
}

int month_of(std::string tok) {
  if (!tok.empty() && tok.back() == '.') tok.pop_back();
  const auto it = kMonths.find(tok);
  return it == kMonths.end() ? 0 : it->second;
}

int day_of(std::string_view tok) {
  if (tok.empty() || tok[0] < '0' || tok[0] > '9') return 0;  // every day form starts with a digit
  if (tok == "1er" || tok == "1st" || tok == "1o") return 1;
  for (const std::string_view suffix : {"st", "nd", "rd", "th", "er", "e"}) {
    if (tok.size() > suffix.size() && util::ends_with(tok, suffix) &&
        runtime::all_digits(tok.substr(0, tok.size() - suffix.size()))) {
      tok = tok.substr(0, tok.size() - suffix.size());
      break;
    }
  }
  if (!runtime::all_digits(tok) || tok.size() > 2) return 0;
  const int d = to_int(tok);
  return d >= 1 && d <= 31 ? d : 0;
}

bool is_agency(std::string_view inner) {
  const std::string key = util::fold_key(inner);
  static const std::unordered_set<std::string> kAgencies = {"vna",       "ttxvn",    "vns",         "vnp",
                                                            "cvn",       "vna/vns",  "cvn/vna",     "vna/cvn",
                                                            "ttxvn/vna", "vietnam+", "vietnamplus", "vnanet"};
  if (kAgencies.count(key) != 0) return true;
  return util::starts_with(key, "vna/") || util::ends_with(key, "/vna") || util::starts_with(key, "ttxvn/");
}

bool is_dash(char32_t c) { return c == U'-' || c == U'–' || c == U'—' || c == U'−' || c == U'‒' || c == U':'; }

}  // namespace

std::optional<std::string> parse_loose_date(std::string_view text) {
  const std::string folded = util::fold_key(text);
  std::vector<std::string> toks;
  bool vietnamese_month = false;  // "ngày 6 tháng 7": two bare numbers are day and month
  std::string cur;
  for (std::size_t i = 0; i <= folded.size(); ++i) {
    const char c = i < folded.size() ? folded[i] : ' ';
    if (c == ' ' || c == ',') {
      if (cur == "thang") {
        vietnamese_month = true;
      } else if (!cur.empty() && !is_date_filler(cur)) {
        toks.push_back(cur);
      }
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (toks.empty() || toks.size() > 3) return std::nullopt;
  if (toks.size() == 1) return parse_numeric(toks[0]);
  auto year_of = [](const std::string& t) { return t.size() == 4 && runtime::all_digits(t) ? to_int(t) : -1; };
  const int year = toks.size() == 3 ? year_of(toks[2]) : 0;
  if (year < 0) return std::nullopt;
  if (const int m = month_of(toks[1]); m != 0 && day_of(toks[0]) != 0) return make_date(year, m, day_of(toks[0]));
  if (const int m = month_of(toks[0]); m != 0 && day_of(toks[1]) != 0) return make_date(year, m, day_of(toks[1]));
  if (toks.size() == 2 && month_of(toks[0]) != 0 && year_of(toks[1]) > 0) {
    return make_date(year_of(toks[1]), month_of(toks[0]), 0);
  }
  if (vietnamese_month && runtime::all_digits(toks[0]) && runtime::all_digits(toks[1])) {
    return make_date(year, to_int(toks[1]), to_int(toks[0]));
  }
  return std::nullopt;
}

std::optional<DatelineMatch> match_dateline(std::string_view para) {
  // The dateline is short: look for "(AGENCY)" within the first 160 bytes only.
  const std::size_t limit = std::min<std::size_t>(para.size(), 160);
  for (std::size_t open = para.find('('); open != std::string_view::npos && open < limit;
       open = para.find('(', open + 1)) {
    const std::size_t close = para.find(')', open);
    if (close == std::string_view::npos || close - open > 24) continue;
    if (!is_agency(util::trim(para.substr(open + 1, close - open - 1)))) continue;
    std::string prefix(util::trim(para.substr(0, open)));
    while (!prefix.empty() && (prefix.back() == ',' || prefix.back() == ' ')) prefix.pop_back();
    DatelineMatch m;
    if (!prefix.empty()) {
      const std::u32string u = util::to_u32(prefix);
      std::size_t words = 1;
      for (const char32_t c : u) words += c == U' ' ? 1 : 0;
      // A place (and date) starts with a capital and is a few words; a sentence is not a dateline.
      if (!util::is_upper(u[0]) || words > 8 || u.size() > 80 || prefix.find(". ") != std::string::npos) continue;
      std::string place = prefix;
      // "Place, date": try the last comma first ("Washington, D.C., July 6").
      for (std::size_t comma = prefix.rfind(','); comma != std::string::npos;
           comma = comma == 0 ? std::string::npos : prefix.rfind(',', comma - 1)) {
        if (auto d = parse_loose_date(prefix.substr(comma + 1))) {
          m.date = std::move(d);
          place = prefix.substr(0, comma);
          break;
        }
      }
      if (!m.date) {
        // "Hanoi 6 juillet" without a comma: the date starts at the first digit.
        const std::size_t digit = prefix.find_first_of("0123456789");
        if (digit != std::string::npos && digit > 0) {
          if (auto d = parse_loose_date(prefix.substr(digit))) {
            m.date = std::move(d);
            place = prefix.substr(0, digit);
          }
        }
        if (const std::size_t comma = place.find(','); !m.date && comma != std::string::npos) place.resize(comma);
      }
      place = std::string(util::trim(place));
      while (!place.empty() && place.back() == ',') place.pop_back();
      if (!place.empty()) m.place = place;
    }
    // Skip white space, one dash or colon, and white space again.
    std::size_t i = close + 1;
    bool dash_seen = false;
    while (i < para.size()) {
      std::size_t j = i;
      const char32_t c = util::next_code_point(para, j);
      if (util::is_space(c)) {
        i = j;
      } else if (!dash_seen && is_dash(c)) {
        dash_seen = true;
        i = j;
      } else {
        break;
      }
    }
    m.text_start = i;
    return m;
  }
  return std::nullopt;
}

std::optional<std::pair<std::string, std::size_t>> match_date_header(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (line.size() < i + 5) return std::nullopt;
  const std::string word = util::to_lower(line.substr(i, 4));
  if (word != "date" || (line[i + 4] != ' ' && line[i + 4] != ':')) return std::nullopt;
  i += 4;
  while (i < line.size() && (line[i] == ' ' || line[i] == ':' || line[i] == '\t')) ++i;
  const std::size_t start = i;
  while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
  const std::string_view tok = line.substr(start, i - start);
  std::optional<std::string> date;
  if (tok.size() == 4 && runtime::all_digits(tok)) {
    if (to_int(tok) >= 1900 && to_int(tok) < 2200) date = std::string(tok);
  } else {
    date = parse_numeric(tok);
  }
  if (!date || date->front() == 'X') return std::nullopt;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return std::make_pair(*date, i);
}

std::string infer_year(const std::string& date, const std::optional<std::string>& published) {
  if (date.size() != 10 || date.compare(0, 4, "XXXX") != 0 || !published || published->size() < 4) return date;
  const std::string_view pub(*published);
  if (!runtime::all_digits(pub.substr(0, 4))) return date;
  int year = to_int(pub.substr(0, 4));
  const int month = to_int(std::string_view(date).substr(5, 2));
  if (pub.size() >= 7 && runtime::all_digits(pub.substr(5, 2))) {
    const int pub_month = to_int(pub.substr(5, 2));
    if (month > pub_month + 6) --year;  // dateline in December, published in January
    if (month + 6 < pub_month) ++year;  // the reverse: a dispatch dated ahead of its header
  }
  return std::to_string(year) + date.substr(4);
}

bool is_weekday(std::string_view folded_word) { return kWeekdays.count(std::string(folded_word)) != 0; }

int month_from_word(std::string_view folded_word) { return month_of(std::string(folded_word)); }

int day_from_word(std::string_view folded_word) { return day_of(folded_word); }

bool is_edtf_date(std::string_view s) {
  if (s.size() != 4 && s.size() != 7 && s.size() != 10) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool sep = i == 4 || i == 7;
    if (sep != (s[i] == '-')) return false;
    if (!sep && !(s[i] >= '0' && s[i] <= '9') && s[i] != 'X') return false;
  }
  auto num = [&](std::size_t at) {
    if (s[at] == 'X' || s[at + 1] == 'X') return -1;
    return (s[at] - '0') * 10 + (s[at + 1] - '0');
  };
  if (s.size() >= 7 && num(5) != -1 && (num(5) < 1 || num(5) > 12)) return false;
  if (s.size() == 10 && num(8) != -1 && (num(8) < 1 || num(8) > 31)) return false;
  return true;
}

}  // namespace vnawire::extract
