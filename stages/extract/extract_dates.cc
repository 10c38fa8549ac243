// Date expressions in an article's text as EDTF: a token scanner over French, English and Vietnamese forms.
#include "stages/extract/extract_dates.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unordered_set>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_dateline.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

struct Token {
  std::size_t begin = 0;  // byte offsets in the text, surrounding punctuation excluded
  std::size_t end = 0;
  std::string key;  // accent-folded, lower case
};

bool is_edge_punct(char c) {
  return c == ',' || c == '.' || c == ';' || c == ':' || c == '(' || c == ')' || c == '"' || c == '!' || c == '?';
}

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n' && text[j] != '\t') ++j;
    std::size_t b = i, e = j;
    while (b < e && is_edge_punct(text[b])) ++b;
    while (e > b && is_edge_punct(text[e - 1])) --e;
    if (e > b) out.push_back({b, e, util::fold_key(text.substr(b, e - b))});
    i = j;
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int year_of(std::string_view key) {
  if (key.size() != 4 || !all_digits(key)) return 0;
  const int y = std::stoi(std::string(key));
  return y >= 1900 && y < 2200 ? y : 0;
}

// "20-23" or "10–13" (en dash folds to itself): two days joined by a dash.
std::optional<std::pair<int, int>> day_range(std::string_view key) {
  for (const std::string_view dash : {std::string_view("-"), std::string_view("\u2013")}) {
    const std::size_t at = key.find(dash);
    if (at == std::string_view::npos) continue;
    const int first = day_from_word(key.substr(0, at));
    const int last = day_from_word(key.substr(at + dash.size()));
    if (first != 0 && last != 0 && first < last) return std::make_pair(first, last);
  }
  return std::nullopt;
}

struct Ymd {
  int year = 0;  // 0: not written
  int month = 0;
  int day = 0;
};

// The publication day when `published` gives a full one: relative words ("hier") need no less.
std::optional<Ymd> publication_day(const std::optional<std::string>& published) {
  if (!published || published->size() < 10) return std::nullopt;
  const std::string_view p(*published);
  if (!all_digits(p.substr(0, 4)) || !all_digits(p.substr(5, 2)) || !all_digits(p.substr(8, 2))) return std::nullopt;
  const Ymd day{std::stoi(published->substr(0, 4)), std::stoi(published->substr(5, 2)),
                std::stoi(published->substr(8, 2))};
  if (day.month == 0 || day.day == 0) return std::nullopt;
  return day;
}

std::string format(const Ymd& d) {
  char buf[48];
  if (d.year > 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  } else {
    std::snprintf(buf, sizeof buf, "XXXX-%02d-%02d", d.month, d.day);
  }
  return buf;
}

// The year of a year-less month and day, by the dateline's rule (infer_year), so that a date reads the
// same in a dateline and in the text; 0 when the publication date gives none.
int inferred_year(int month, int day, const std::optional<std::string>& published) {
  const std::string dated = infer_year(format({0, month, day}), published);
  return dated.front() == 'X' ? 0 : std::stoi(dated.substr(0, 4));
}

bool valid(const Ymd& d) { return d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= 31; }

// A single day or an interval; the year written after the last day applies to both ends.
std::optional<std::string> to_edtf(Ymd start, std::optional<Ymd> end, const std::optional<std::string>& published) {
  if (!valid(start) || (end && !valid(*end))) return std::nullopt;
  if (!end) {
    if (start.year == 0) start.year = inferred_year(start.month, start.day, published);
    return format(start);
  }
  if (end->year == 0) end->year = inferred_year(end->month, end->day, published);
  if (start.year == 0 && end->year != 0) {
    // "du 29 décembre au 2 janvier" crosses the new year.
    const bool wraps = start.month > end->month || (start.month == end->month && start.day > end->day);
    start.year = wraps ? end->year - 1 : end->year;
  }
  return format(start) + "/" + format(*end);
}

std::string shift_days(const Ymd& p, int days) {
  using namespace std::chrono;
  const sys_days when =
      sys_days(year_month_day(year(p.year), month(static_cast<unsigned>(p.month)), day(static_cast<unsigned>(p.day)))) +
      std::chrono::days(days);
  const year_month_day ymd(when);
  return format({static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
                 static_cast<int>(static_cast<unsigned>(ymd.day()))});
}

struct Match {
  std::size_t tokens = 0;  // how many tokens the expression spans
  std::string edtf;
};

// Tries every form at token i; the longest forms are tried first so "6 July 2022" is not "6 July".
std::optional<Match> match_at(const std::vector<Token>& t, std::size_t i, const std::optional<std::string>& published,
                              const std::optional<Ymd>& pub_day) {
  auto key = [&](std::size_t k) -> std::string_view { return k < t.size() ? std::string_view(t[k].key) : ""; };
  auto year_at = [&](std::size_t k) { return year_of(key(k)); };
  auto done = [&](std::size_t n, std::optional<std::string> edtf) -> std::optional<Match> {
    if (!edtf) return std::nullopt;
    return Match{n, *edtf};
  };
  const std::string_view k0 = key(i);

  // "du 10 au 13 septembre [2022]", "du 29 novembre au 2 décembre [2022]".
  if (k0 == "du" && day_from_word(key(i + 1)) != 0) {
    const int d1 = day_from_word(key(i + 1));
    if (key(i + 2) == "au" && day_from_word(key(i + 3)) != 0 && month_from_word(key(i + 4)) != 0) {
      const int m = month_from_word(key(i + 4));
      const int y = year_at(i + 5);
      return done(y ? 6 : 5, to_edtf({y, m, d1}, Ymd{y, m, day_from_word(key(i + 3))}, published));
    }
    const int m1 = month_from_word(key(i + 2));
    if (m1 != 0 && key(i + 3) == "au" && day_from_word(key(i + 4)) != 0 && month_from_word(key(i + 5)) != 0) {
      const int y = year_at(i + 6);
      return done(y ? 7 : 6,
                  to_edtf({y, m1, d1}, Ymd{y, month_from_word(key(i + 5)), day_from_word(key(i + 4))}, published));
    }
  }
  // "ngày 6 tháng 7 [năm 2022]", "ngày 6/7[/2022]".
  if (k0 == "ngay") {
    if (day_from_word(key(i + 1)) != 0 && key(i + 2) == "thang" && all_digits(key(i + 3))) {
      const bool has_year = key(i + 4) == "nam" && year_at(i + 5) != 0;
      const Ymd d{has_year ? year_at(i + 5) : 0, std::stoi(std::string(key(i + 3)).substr(0, 2)),
                  day_from_word(key(i + 1))};
      return done(has_year ? 6 : 4, to_edtf(d, std::nullopt, published));
    }
    if (auto d = parse_loose_date(key(i + 1)); d && d->size() == 10) {
      const Ymd ymd{d->front() == 'X' ? 0 : std::stoi(d->substr(0, 4)), std::stoi(d->substr(5, 2)),
                    std::stoi(d->substr(8, 2))};
      return done(2, to_edtf(ymd, std::nullopt, published));
    }
  }
  // "mardi 3 décembre": the weekday belongs to the expression.
  const std::size_t lead = is_weekday(k0) ? 1 : 0;
  const std::size_t s = i + lead;
  // "20-23 janvier [2022]".
  if (auto r = day_range(key(s)); r && month_from_word(key(s + 1)) != 0) {
    const int m = month_from_word(key(s + 1));
    const int y = year_at(s + 2);
    return done(lead + (y ? 3 : 2), to_edtf({y, m, r->first}, Ymd{y, m, r->second}, published));
  }
  // "6 juillet [2022]", "6 July 2022".
  if (day_from_word(key(s)) != 0 && month_from_word(key(s + 1)) != 0) {
    const int y = year_at(s + 2);
    return done(lead + (y ? 3 : 2),
                to_edtf({y, month_from_word(key(s + 1)), day_from_word(key(s))}, std::nullopt, published));
  }
  // "September 10-13 [2022]", "July 6[, 2022]". "mai" (a Vietnamese name) and "sept" (French
  // seven) lead numbers too often to be taken for months there.
  if (lead == 0 && month_from_word(k0) != 0 && k0 != "mai" && k0 != "sept") {
    const int m = month_from_word(k0);
    if (auto r = day_range(key(i + 1))) {
      const int y = year_at(i + 2);
      return done(y ? 3 : 2, to_edtf({y, m, r->first}, Ymd{y, m, r->second}, published));
    }
    if (day_from_word(key(i + 1)) != 0 && all_digits(key(i + 1).substr(0, 1))) {
      const int y = year_at(i + 2);
      return done(y ? 3 : 2, to_edtf({y, m, day_from_word(key(i + 1))}, std::nullopt, published));
    }
  }
  // "6/7/2022", "06.07.2022", "2022-07-06": only with a four-digit year, so scores ("3-1"), halves
  // ("1/2 finale") and times ("10:30") stay out.
  if (lead == 0 && k0.size() >= 8 && k0.find_first_of("/.-") != std::string_view::npos) {
    if (auto d = parse_loose_date(k0); d && d->size() == 10 && d->front() != 'X') return done(1, *d);
  }
  // Relative days, only against a full publication date.
  if (lead == 0 && pub_day) {
    if (k0 == "hier" || k0 == "yesterday") return done(1, shift_days(*pub_day, -1));
    if (k0 == "hom" && key(i + 1) == "qua") return done(2, shift_days(*pub_day, -1));
    if (k0 == "aujourd'hui" || k0 == "aujourd\u2019hui" || k0 == "today") return done(1, shift_days(*pub_day, 0));
    if (k0 == "hom" && key(i + 1) == "nay") return done(2, shift_days(*pub_day, 0));
  }
  return std::nullopt;
}

}  // namespace

std::vector<DateMention> find_dates(std::string_view text, const std::optional<std::string>& published) {
  const std::optional<Ymd> pub_day = publication_day(published);
  const std::vector<Token> tokens = tokenize(text);
  std::vector<DateMention> out;
  for (std::size_t i = 0; i < tokens.size();) {
    if (auto m = match_at(tokens, i, published, pub_day)) {
      const std::size_t last = i + m->tokens - 1;
      out.push_back({std::string(text.substr(tokens[i].begin, tokens[last].end - tokens[i].begin)), m->edtf});
      i += m->tokens;
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<DateMention> collect_article_dates(const Article& article) {
  std::vector<DateMention> out;
  std::unordered_set<std::string> seen;
  auto scan = [&](std::string_view text) {
    for (DateMention& m : find_dates(text, article.published)) {
      if (seen.insert(m.edtf).second) out.push_back(std::move(m));
    }
  };
  if (article.title) scan(*article.title);
  if (article.lead) scan(*article.lead);
  for (const std::string& p : article.body) scan(p);
  for (const std::string& c : article.captions) scan(c);
  return out;
}

}  // namespace vnawire::extract
