// Date expressions in an article's text as EDTF: a token scanner over French, English and Vietnamese forms.
#include "stages/extract/extract_dates.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>
#include <unordered_set>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_dateline.h"
#include "stages/extract/extract_text_util.h"
#include "stages/runtime/ascii_text.h"
#include "stages/runtime/byte_scan.h"

namespace vnawire::extract {
namespace {

struct DateToken {
  // Not value-initialised: emplace_back() would otherwise zero the whole token before the initialisers
  // below run, for each of a dispatch's several hundred words.
  DateToken() {}

  std::size_t begin = 0;  // byte offsets in the text, surrounding punctuation excluded
  std::size_t end = 0;
  std::string_view raw;        // text[begin, end)
  bool ends_sentence = false;  // followed by . ! ? or ;
  bool digit = false;          // holds a digit: every written date has one in its first two tokens
  bool ascii = false;          // raw is all ASCII: its key is raw lower-cased

  // Accent-folded, lower case, typographic apostrophe as '. Folded on first use: most words are read by
  // no rule (no digit near them, no relative word, no date in their sentence).
  const std::string& key() const {
    if (!folded_) {
      folded_key_ = util::fold_key(raw);
      for (std::size_t q = folded_key_.find("\u2019"); q != std::string::npos; q = folded_key_.find("\u2019")) {
        folded_key_.replace(q, 3, "'");
      }
      folded_ = true;
    }
    return folded_key_;
  }

 private:
  mutable std::string folded_key_;
  mutable bool folded_ = false;
};

bool is_edge_punct(char c) {
  return c == ',' || c == '.' || c == ';' || c == ':' || c == '(' || c == ')' || c == '"' || c == '!' || c == '?';
}

std::vector<DateToken> tokenize(std::string_view text) {
  std::vector<DateToken> out;
  out.reserve(text.size() / 6 + 1);
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    // One pass over the word finds its end, whether it is all ASCII and whether it holds a digit. The edge
    // punctuation trimmed below is ASCII and no digit, so both hold for the trimmed word too; and no
    // character folds to an ASCII digit (lower case and canonical decomposition never make one: the test
    // ExtractDates.NoCharacterFoldsToADigit tries them all), so a word's digits are its ASCII digits.
    bool high = false, digit = false;
    const std::size_t j = runtime::word_end(text.data(), i, text.size(), high, digit);
    std::size_t b = i, e = j;
    while (b < e && is_edge_punct(text[b])) ++b;
    while (e > b && is_edge_punct(text[e - 1])) --e;
    const std::string_view after = text.substr(e, j - e);
    // Byte loops, not find_first_of: it calls memchr on its set for every byte, and this runs on every word.
    const bool ends =
        std::any_of(after.begin(), after.end(), [](char c) { return c == '.' || c == '!' || c == '?' || c == ';'; });
    if (e > b) {
      DateToken& token = out.emplace_back();
      token.begin = b;
      token.end = e;
      token.raw = text.substr(b, e - b);
      token.ends_sentence = ends;
      token.ascii = !high;  // its key is then the word lower-cased
      token.digit = digit;
    } else if (ends && !out.empty()) {
      out.back().ends_sentence = true;
    }
    i = j;
  }
  return out;
}

int year_of(std::string_view key) {
  if (key.size() != 4 || !runtime::all_digits(key)) return 0;
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
  if (!runtime::all_digits(p.substr(0, 4)) || !runtime::all_digits(p.substr(5, 2)) ||
      !runtime::all_digits(p.substr(8, 2)))
    return std::nullopt;
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

// What a sentence says of the time of its event, from its verbs and time words.
enum class Tense {
  Past,      // the default: news reports what happened
  Future,    // a future verb form ("se rendra", "participeront"): this year's date may lie ahead
  Announced  // an explicit word ("prochain", "aura lieu", "will", "next", "sắp"): may be next year's
};

int day_number(const Ymd& d) {
  using namespace std::chrono;
  return static_cast<int>(
      sys_days(year_month_day(year(d.year), month(static_cast<unsigned>(d.month)), day(static_cast<unsigned>(d.day))))
          .time_since_epoch()
          .count());
}

// The year of a year-less month and day. A past event is never put after publication; an event the
// sentence puts ahead keeps the publication year, or takes the next one when announced and a date of
// this year would be long past ("prévue le 10 janvier" in December). Unlike a dateline, which dates the
// dispatch itself (infer_year: within six months of publication), a date in the text can be any time
// before publication. 0 when the publication date gives no year.
int inferred_year(int month, int day, const std::optional<std::string>& published, Tense tense) {
  if (!published || published->size() < 4 || !runtime::all_digits(std::string_view(*published).substr(0, 4))) return 0;
  const int year = std::stoi(published->substr(0, 4));
  const std::string_view p(*published);
  if (p.size() >= 10 && runtime::all_digits(p.substr(5, 2)) && runtime::all_digits(p.substr(8, 2))) {
    const Ymd pub{year, std::stoi(published->substr(5, 2)), std::stoi(published->substr(8, 2))};
    const int candidate = day_number({year, month, std::min(day, 28)}) + std::max(0, day - 28);
    const int published_on = day_number(pub);
    if (tense == Tense::Past) return candidate > published_on ? year - 1 : year;
    if (tense == Tense::Announced && candidate < published_on - 31) return year + 1;
    return year;
  }
  if (p.size() >= 7 && runtime::all_digits(p.substr(5, 2))) {
    const int pub_month = std::stoi(published->substr(5, 2));
    if (tense == Tense::Past) return month > pub_month ? year - 1 : year;
    if (tense == Tense::Announced && month + 1 < pub_month) return year + 1;
  }
  return year;
}

bool valid(const Ymd& d) { return d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= 31; }

// A single day or an interval; the year written after the last day applies to both ends.
std::optional<std::string> to_edtf(Ymd start, std::optional<Ymd> end, const std::optional<std::string>& published,
                                   Tense tense) {
  if (!valid(start) || (end && !valid(*end))) return std::nullopt;
  if (!end) {
    if (start.year == 0) start.year = inferred_year(start.month, start.day, published, tense);
    return format(start);
  }
  // An interval is dated by its start: "du 29 décembre au 2 janvier" reported on 1 January is under way.
  if (end->year == 0 && start.year == 0) {
    start.year = inferred_year(start.month, start.day, published, tense);
    const bool wraps = start.month > end->month || (start.month == end->month && start.day > end->day);
    if (start.year != 0) end->year = wraps ? start.year + 1 : start.year;
    return format(start) + "/" + format(*end);
  }
  if (end->year == 0) end->year = inferred_year(end->month, end->day, published, tense);
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

bool one_of(std::string_view key, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), key) != words.end();
}

// The tense of the sentence of tokens [from, to): an explicit word of time to come first, then a
// French future verb form (third person: "-era", "-ira", "-dra", "-ront"), long enough not to be a noun
// such as "ère" or "opéra" (listed apart).
Tense tense_of(const std::vector<DateToken>& t, std::size_t from, std::size_t to) {
  Tense tense = Tense::Past;
  for (std::size_t k = from; k < to; ++k) {
    std::string_view w = t[k].key();
    if (const std::size_t apostrophe = w.find('\''); apostrophe != std::string_view::npos && apostrophe <= 2) {
      w.remove_prefix(apostrophe + 1);  // "l'opéra", "qu'il", "s'étendra"
    }
    if (one_of(w, {"prochain", "prochaine", "prochains", "prochaines", "prevu", "prevue", "prevus", "prevues", "aura",
                   "auront", "tiendra", "tiendront", "will", "next", "upcoming", "scheduled", "sap", "toi"})) {
      return Tense::Announced;
    }
    const bool future_form = w.size() >= 6 && (w.ends_with("era") || w.ends_with("ira") || w.ends_with("dra") ||
                                               w.ends_with("eront") || w.ends_with("iront") || w.ends_with("dront"));
    if ((future_form &&
         !one_of(w, {"camera", "opera", "chimera", "sahara", "riviera", "cholera", "tiara", "angora"})) ||
        one_of(w, {"sera", "seront", "fera", "feront", "ira", "iront", "viendra", "devrait", "devraient"})) {
      tense = Tense::Future;
    }
  }
  return tense;
}

// "cette semaine", "la semaine dernière", "last month", "năm ngoái", "demain": a period counted from the
// publication day. Not "năm qua" / "tuần qua": they say "over the past year(s)", not "last year".
enum class PeriodUnit { Day, Week, Month, Year };
struct Period {
  PeriodUnit unit;
  int offset;
  std::size_t tokens;
};

struct Form {
  std::initializer_list<std::string_view> words;
  PeriodUnit unit;
  int offset;
};

// An array, not a vector: each form's word list lives as long as the array it is declared in.
std::span<const Form> relative_forms() {
  static const Form kForms[] = {
      {{"cette", "semaine"}, PeriodUnit::Week, 0},
      {{"this", "week"}, PeriodUnit::Week, 0},
      {{"tuan", "nay"}, PeriodUnit::Week, 0},
      {{"last", "week"}, PeriodUnit::Week, -1},
      {{"tuan", "truoc"}, PeriodUnit::Week, -1},
      {{"next", "week"}, PeriodUnit::Week, 1},
      {{"tuan", "toi"}, PeriodUnit::Week, 1},
      {{"tuan", "sau"}, PeriodUnit::Week, 1},
      {{"semaine", "derniere"}, PeriodUnit::Week, -1},
      {{"semaine", "passee"}, PeriodUnit::Week, -1},
      {{"semaine", "prochaine"}, PeriodUnit::Week, 1},
      {{"mois", "dernier"}, PeriodUnit::Month, -1},
      {{"mois", "passe"}, PeriodUnit::Month, -1},
      {{"mois", "prochain"}, PeriodUnit::Month, 1},
      {{"ce", "mois-ci"}, PeriodUnit::Month, 0},
      {{"ce", "mois"}, PeriodUnit::Month, 0},
      {{"this", "month"}, PeriodUnit::Month, 0},
      {{"thang", "nay"}, PeriodUnit::Month, 0},
      {{"last", "month"}, PeriodUnit::Month, -1},
      {{"thang", "truoc"}, PeriodUnit::Month, -1},
      {{"next", "month"}, PeriodUnit::Month, 1},
      {{"thang", "toi"}, PeriodUnit::Month, 1},
      {{"thang", "sau"}, PeriodUnit::Month, 1},
      {{"cette", "annee"}, PeriodUnit::Year, 0},
      {{"this", "year"}, PeriodUnit::Year, 0},
      {{"nam", "nay"}, PeriodUnit::Year, 0},
      {{"l'annee", "derniere"}, PeriodUnit::Year, -1},
      {{"l'an", "dernier"}, PeriodUnit::Year, -1},
      {{"l'an", "passe"}, PeriodUnit::Year, -1},
      {{"last", "year"}, PeriodUnit::Year, -1},
      {{"nam", "ngoai"}, PeriodUnit::Year, -1},
      {{"nam", "truoc"}, PeriodUnit::Year, -1},
      {{"l'an", "prochain"}, PeriodUnit::Year, 1},
      {{"l'annee", "prochaine"}, PeriodUnit::Year, 1},
      {{"next", "year"}, PeriodUnit::Year, 1},
      {{"nam", "toi"}, PeriodUnit::Year, 1},
      {{"nam", "sau"}, PeriodUnit::Year, 1},
      {{"demain"}, PeriodUnit::Day, 1},
      {{"tomorrow"}, PeriodUnit::Day, 1},
      {{"ngay", "mai"}, PeriodUnit::Day, 1},
      {{"avant-hier"}, PeriodUnit::Day, -2},
      {{"apres-demain"}, PeriodUnit::Day, 2},
  };
  return kForms;
}

// Most tokens start no form: one set look-up instead of fifty comparisons per token.
const std::unordered_set<std::string_view>& relative_first_words() {
  static const std::unordered_set<std::string_view> kFirstWords = [] {
    std::unordered_set<std::string_view> first;
    for (const Form& form : relative_forms()) first.insert(*form.words.begin());
    return first;
  }();
  return kFirstWords;
}

std::optional<Period> relative_period(const std::vector<DateToken>& t, std::size_t i) {
  const auto& kFirstWords = relative_first_words();
  // "la semaine dernière", "le mois prochain": the article belongs to the expression.
  const std::size_t article = i + 1 < t.size() && (t[i].key() == "la" || t[i].key() == "le") ? 1 : 0;
  const std::size_t start = i + article;
  if (start >= t.size() || kFirstWords.count(t[start].key()) == 0) return std::nullopt;
  for (const Form& form : relative_forms()) {
    std::size_t k = start;
    bool matches = true;
    for (std::string_view word : form.words) {
      if (k >= t.size() || t[k].key() != word) {
        matches = false;
        break;
      }
      ++k;
    }
    if (matches) return Period{form.unit, form.offset, article + form.words.size()};
  }
  return std::nullopt;
}

// Words that are a relative date on their own (match_at reads them), as keys.
constexpr std::string_view kRelativeDays[] = {"hier", "yesterday", "hom", "aujourd'hui", "today"};

// Whether token i may open one of the relative expressions match_at reads.
bool may_start_relative(const std::vector<DateToken>& t, std::size_t i) {
  if (t[i].ascii) {
    // Its key is the word lower-cased: a word that opens nothing is known without folding it.
    static const std::unordered_set<std::string_view> kOpening = [] {
      std::unordered_set<std::string_view> words = relative_first_words();
      words.insert({"la", "le"});  // relative_period's articles
      words.insert(std::begin(kRelativeDays), std::end(kRelativeDays));
      return words;
    }();
    static const std::size_t kLongest =
        std::max_element(kOpening.begin(), kOpening.end(), [](auto a, auto b) { return a.size() < b.size(); })->size();
    const std::string_view raw = t[i].raw;
    if (raw.size() > kLongest) return false;
    std::string lower(raw);  // short: no allocation
    for (char& c : lower) c = runtime::ascii_lower(c);
    if (kOpening.count(lower) == 0) return false;
  }
  const std::string_view k = t[i].key();  // its typographic apostrophe already made '
  return relative_period(t, i).has_value() ||
         std::find(std::begin(kRelativeDays), std::end(kRelativeDays), k) != std::end(kRelativeDays);
}

std::string resolve(const Period& period, const Ymd& pub) {
  using namespace std::chrono;
  char buf[32];
  switch (period.unit) {
    case PeriodUnit::Day:
      return shift_days(pub, period.offset);
    case PeriodUnit::Week: {
      // Monday to Sunday (ISO 8601), as an EDTF interval.
      const sys_days day(year_month_day(year(pub.year), month(static_cast<unsigned>(pub.month)),
                                        std::chrono::day(static_cast<unsigned>(pub.day))));
      const int from_monday = static_cast<int>((weekday(day).iso_encoding() - 1));
      return shift_days(pub, 7 * period.offset - from_monday) + "/" +
             shift_days(pub, 7 * period.offset - from_monday + 6);
    }
    case PeriodUnit::Month: {
      const int index = pub.year * 12 + (pub.month - 1) + period.offset;
      std::snprintf(buf, sizeof buf, "%04d-%02d", index / 12, index % 12 + 1);
      return buf;
    }
    case PeriodUnit::Year:
      std::snprintf(buf, sizeof buf, "%04d", pub.year + period.offset);
      return buf;
  }
  return "";
}

// Tries every form at token i; the longest forms are tried first so "6 July 2022" is not "6 July".
std::optional<Match> match_at(const std::vector<DateToken>& t, std::size_t i,
                              const std::optional<std::string>& published, const std::optional<Ymd>& pub_day,
                              Tense tense) {
  auto key = [&](std::size_t k) -> std::string_view { return k < t.size() ? std::string_view(t[k].key()) : ""; };
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
      return done(y ? 6 : 5, to_edtf({y, m, d1}, Ymd{y, m, day_from_word(key(i + 3))}, published, tense));
    }
    const int m1 = month_from_word(key(i + 2));
    if (m1 != 0 && key(i + 3) == "au" && day_from_word(key(i + 4)) != 0 && month_from_word(key(i + 5)) != 0) {
      const int y = year_at(i + 6);
      return done(y ? 7 : 6, to_edtf({y, m1, d1}, Ymd{y, month_from_word(key(i + 5)), day_from_word(key(i + 4))},
                                     published, tense));
    }
  }
  // "ngày 6 tháng 7 [năm 2022]", "ngày 6/7[/2022]".
  if (k0 == "ngay") {
    if (day_from_word(key(i + 1)) != 0 && key(i + 2) == "thang" && runtime::all_digits(key(i + 3))) {
      const bool has_year = key(i + 4) == "nam" && year_at(i + 5) != 0;
      const Ymd d{has_year ? year_at(i + 5) : 0, std::stoi(std::string(key(i + 3)).substr(0, 2)),
                  day_from_word(key(i + 1))};
      return done(has_year ? 6 : 4, to_edtf(d, std::nullopt, published, tense));
    }
    if (auto d = parse_loose_date(key(i + 1)); d && d->size() == 10) {
      const Ymd ymd{d->front() == 'X' ? 0 : std::stoi(d->substr(0, 4)), std::stoi(d->substr(5, 2)),
                    std::stoi(d->substr(8, 2))};
      return done(2, to_edtf(ymd, std::nullopt, published, tense));
    }
  }
  // "mardi 3 décembre": the weekday belongs to the expression.
  const std::size_t lead = is_weekday(k0) ? 1 : 0;
  const std::size_t s = i + lead;
  // "20-23 janvier [2022]".
  if (auto r = day_range(key(s)); r && month_from_word(key(s + 1)) != 0) {
    const int m = month_from_word(key(s + 1));
    const int y = year_at(s + 2);
    return done(lead + (y ? 3 : 2), to_edtf({y, m, r->first}, Ymd{y, m, r->second}, published, tense));
  }
  // "6 juillet [2022]", "6 July 2022".
  if (day_from_word(key(s)) != 0 && month_from_word(key(s + 1)) != 0) {
    const int y = year_at(s + 2);
    return done(lead + (y ? 3 : 2),
                to_edtf({y, month_from_word(key(s + 1)), day_from_word(key(s))}, std::nullopt, published, tense));
  }
  // "September 10-13 [2022]", "July 6[, 2022]". "mai" (a Vietnamese name) and "sept" (French
  // seven) lead numbers too often to be taken for months there.
  if (lead == 0 && month_from_word(k0) != 0 && k0 != "mai" && k0 != "sept") {
    const int m = month_from_word(k0);
    if (auto r = day_range(key(i + 1))) {
      const int y = year_at(i + 2);
      return done(y ? 3 : 2, to_edtf({y, m, r->first}, Ymd{y, m, r->second}, published, tense));
    }
    if (day_from_word(key(i + 1)) != 0 && runtime::all_digits(key(i + 1).substr(0, 1))) {
      const int y = year_at(i + 2);
      return done(y ? 3 : 2, to_edtf({y, m, day_from_word(key(i + 1))}, std::nullopt, published, tense));
    }
  }
  // "6/7/2022", "06.07.2022", "2022-07-06": only with a four-digit year, so scores ("3-1"), halves
  // ("1/2 finale") and times ("10:30") stay out.
  if (lead == 0 && k0.size() >= 8 && k0.find_first_of("/.-") != std::string_view::npos) {
    if (auto d = parse_loose_date(k0); d && d->size() == 10 && d->front() != 'X') return done(1, *d);
  }
  // Relative days, weeks, months and years, only against a full publication date.
  if (lead == 0 && pub_day) {
    if (auto period = relative_period(t, i)) return done(period->tokens, resolve(*period, *pub_day));
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
  const std::vector<DateToken> tokens = tokenize(text);
  std::vector<DateMention> out;
  std::size_t sentence_end = 0;
  std::size_t sentence_start = 0;
  std::optional<Tense> tense;  // read when the sentence holds a date, for most hold none
  for (std::size_t i = 0; i < tokens.size();) {
    if (i >= sentence_end) {  // a new sentence: its tense dates the year-less dates in it
      sentence_start = sentence_end = i;
      while (sentence_end < tokens.size() && !tokens[sentence_end].ends_sentence) ++sentence_end;
      sentence_end = std::min(tokens.size(), sentence_end + 1);
      tense.reset();
    }
    // Only a relative word ("hier", "cette semaine") makes a date without a digit in its first two
    // tokens: the others are skipped without the dozen look-ups match_at makes.
    const bool may_start =
        tokens[i].digit || (i + 1 < tokens.size() && tokens[i + 1].digit) || (pub_day && may_start_relative(tokens, i));
    if (may_start && !tense) tense = tense_of(tokens, sentence_start, sentence_end);
    if (!may_start) {
      ++i;
    } else if (auto m = match_at(tokens, i, published, pub_day, *tense)) {
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
