// Persons of a dispatch: capitalised name runs (Vietnamese syllables or foreign names that are not
// dictionary words), their roles from titles before the name and appositions after it, their country
// from nationality adjectives, "ambassadeur du X" forms, the name's origin or the dispatch's partner
// country; then short forms ("Mme Mai", "Lavrov") and second transliterations joined to one person.
#include <algorithm>
#include <optional>
#include <unordered_set>

#include "stages/extract/extract_entity_tokens.h"
#include "stages/extract/extract_gazetteer.h"
#include "stages/extract/extract_lexicon.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace entities {

bool vietnamese_syllable(const std::string& w) {
  if (w.empty() || w.size() > 7) return false;
  // string_view constants and a switch: this runs on most capitalised words, several times each.
  static constexpr std::string_view kInitials[] = {"ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu",
                                                   "th",  "tr", "b",  "c",  "d",  "g",  "h",  "k",  "l",
                                                   "m",   "n",  "p",  "r",  "s",  "t",  "v",  "x"};
  std::size_t i = 0;
  const auto opens_with = [&w](std::string_view initial) {
    if (w.size() < initial.size()) return false;
    for (std::size_t k = 0; k < initial.size(); ++k) {
      if (w[k] != initial[k]) return false;
    }
    return true;
  };
  for (const std::string_view initial : kInitials) {
    if (opens_with(initial)) {
      i = initial.size();
      break;
    }
  }
  const auto vowel = [](char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'; };
  const std::size_t vowels_from = i;
  while (i < w.size() && vowel(w[i])) ++i;
  if (i == vowels_from || i - vowels_from > 3) return false;
  const std::string_view final_part = std::string_view(w).substr(i);
  return final_part.empty() || final_part == "c" || final_part == "ch" || final_part == "m" || final_part == "n" ||
         final_part == "ng" || final_part == "nh" || final_part == "p" || final_part == "t";
}

namespace {

constexpr std::size_t kRoleWindow = 30;

struct RoleFound {
  std::string text;
  std::string adjective_country;  // "ministre russe" -> RU
  std::string owner_country;      // "ambassadeur du Vietnam en Russie" -> VN
  std::string any_adjective;      // "président du Sénat cambodgien" -> KH
  std::string named_country;      // first country other than Vietnam named in the role
  bool counterpart = false;       // "son homologue russe"
};

struct Mention {
  std::size_t unit = 0, begin = 0, end = 0;
  std::string surface;             // as written, without honorific
  std::string honorific;           // "Mme", "M." or empty
  std::vector<std::string> words;  // folded words
  bool vietnamese = false;
  bool context = false;  // an honorific or a role right before it
  std::vector<RoleFound> roles;
};

// "ancien", "former": kept in the role ("ancien Premier ministre").
bool is_former(const Token& t) {
  return t.fold == "ancien" || t.fold == "ancienne" || t.fold == "former" || t.fold == "ex";
}

bool is_determiner_or_possessive(const Token& t) {
  return t.fold == "le" || t.fold == "la" || t.fold == "l" || t.fold == "les" || t.fold == "son" || t.fold == "sa" ||
         t.fold == "ses" || t.fold == "the" || t.fold == "his" || t.fold == "her";
}

bool has_digit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class PersonFinder {
 public:
  PersonFinder(std::span<Unit> units, const Gazetteer& g) : units_(units), g_(g) {}

  std::vector<Mention> find() {
    for (std::size_t u = 0; u < units_.size(); ++u) find_in(u);
    // A lone capitalised word with no title or honorific ("Văn" of "Văn hóa") may be anything: it does not
    // end a role.
    for (Mention& m : mentions_) {
      if (m.words.size() == 1 && !m.context) continue;
      auto& toks = units_[m.unit].tokens;
      for (std::size_t k = m.begin; k < m.end; ++k) toks[k].mark = Mark::kPerson;
    }
    for (Mention& m : mentions_) {
      roles_before(m);
      roles_after(m);
      if (!m.roles.empty() && m.words.size() > 1) m.context = true;
    }
    // Vietnamese syllables with no title or honorific name a person only when they open with a family
    // name: "Tan Son Nhat", "Ao Dai" are not people.
    std::erase_if(mentions_, [this](const Mention& m) {
      return m.vietnamese && m.words.size() >= 2 && !m.context && !g_.vietnamese_surname(m.words.front());
    });
    return std::move(mentions_);
  }

 private:
  bool name_word(const Token& t) const {
    return t.word && t.capital && !t.acronym && !t.elided && t.mark == Mark::kNone && !has_digit(t.text) &&
           t.org_head == OrgHeadKind::kNone && t.adjective.empty() && !t.role_word;
  }

  // "Dang Thai Binh": inside a Vietnamese name, a syllable that is also an English adjective ("Thai") or
  // a place ("Thai Binh", left unmarked by mark_places) is still a name.
  static bool inside_vietnamese_name(const std::vector<Token>& toks, std::size_t j, std::size_t run_start) {
    const Token& t = toks[j];
    return j > run_start && t.word && t.capital && t.mark == Mark::kNone && !t.acronym && !t.elided &&
           vietnamese_syllable(t.fold) && vietnamese_syllable(toks[j - 1].fold);
  }

  // Lower-case particles inside a foreign name, when a name word follows them.
  std::size_t particles_at(const std::vector<Token>& toks, std::size_t j) const {
    // Not the Romance "de", "del", "da": they join place names ("Pinar del Río") as often as names.
    static const std::unordered_set<std::string> particles = {"von", "van", "der", "den", "ter", "bin", "ibn"};
    std::size_t k = j;
    while (k < toks.size() && toks[k].word && !toks[k].capital && particles.count(toks[k].fold) != 0) ++k;
    return k > j && k < toks.size() && name_word(toks[k]) ? k - j : 0;
  }

  void find_in(std::size_t u) {
    auto& toks = units_[u].tokens;
    for (std::size_t i = 0; i < toks.size();) {
      // A capitalised title ("Tổng Bí thư", "Chủ tịch") is not the start of a name.
      if (const std::size_t role_words = role_entry_at(toks, i); role_words > 0) {
        i += role_words;
        continue;
      }
      if (!name_word(toks[i])) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < toks.size()) {
        if (name_word(toks[j]) || inside_vietnamese_name(toks, j, i)) {
          ++j;
        } else if (const std::size_t n = particles_at(toks, j); n > 0) {
          j += n;  // "Ursula von der Leyen"
        } else {
          break;
        }
      }
      std::size_t b = i;
      std::string honorific;
      if (j - b >= 2 && is_function_word(toks[b].fold) && entities::honorific(toks[b + 1].fold))
        ++b;  // "Selon M. Phuc"
      if (entities::honorific(toks[b].fold)) {
        honorific = std::string(toks[b].text);
        ++b;
        if (b == j && j + 1 < toks.size() && toks[j].text == "." && name_word(toks[j + 1])) {
          honorific += ".";
          b = j + 1;
          j = b;
          while (j < toks.size() && name_word(toks[j])) ++j;
        }
      }
      add_run(u, b, j, honorific);
      i = j;
    }
  }

  bool all_vietnamese(const std::vector<Token>& toks, std::size_t b, std::size_t e) const {
    for (std::size_t k = b; k < e; ++k) {
      if (!vietnamese_syllable(toks[k].fold)) return false;
    }
    return true;
  }

  void add_run(std::size_t u, std::size_t b, std::size_t e, const std::string& honorific) {
    auto& toks = units_[u].tokens;
    if (honorific.empty()) {
      // Sentence-initial words ("Lors", "Elle") are not names, unless a Vietnamese name opens with "Le" or
      // "To"; a dictionary word opens a name mid-sentence ("Ramon"), but not at the start of a sentence.
      const bool sentence_start = b == 0 ||
                                  std::string_view(".!?:;«\"“").find(toks[b - 1].text) != std::string_view::npos ||
                                  is_connector(toks[b - 1]) || is_determiner_or_possessive(toks[b - 1]) ||
                                  toks[b - 1].elided || toks[b - 1].fold == "for" || toks[b - 1].fold == "to";
      // One dictionary word at most ("for Agriculture Joseph Kariuki" keeps Joseph), and only as the run's
      // first word ("Selon Pierre Vasseur" keeps Pierre).
      bool dictionary_word_dropped = false;
      const std::size_t first = b;
      while (b < e && !(e - b >= 2 && e - b <= 4 && all_vietnamese(toks, b, e))) {
        const bool common = !dictionary_word_dropped && common_word(toks[b]);
        const bool opening = b == first && sentence_start;
        if (!is_function_word(toks[b].fold) &&
            !(common && (opening || e - b == 1 || (e - b >= 3 && all_vietnamese(toks, b + 1, e))))) {
          break;
        }
        dictionary_word_dropped = dictionary_word_dropped || !is_function_word(toks[b].fold);
        ++b;
      }
    }
    if (b >= e || e - b > 4) return;
    // "ASEAN Para Games": words right after an acronym continue its name.
    if (honorific.empty() && b > 0 && toks[b - 1].acronym) return;
    if (honorific.empty() && b > 0 && e - b >= 2 && !toks[b - 1].capital) {
      const std::string& before = toks[b - 1].fold;
      const bool vietnamese = all_vietnamese(toks, b, e);
      // "à Luang Prabang": a foreign name after a preposition of place is a place the gazetteer lacks.
      // "le port de Cai Mep": two Vietnamese syllables after a preposition, with no title, name a place
      // too; people are named in full or with their title.
      if ((!vietnamese && (before == "a" || before == "in" || before == "at")) ||
          (vietnamese && e - b == 2 && (before == "de" || before == "a" || before == "en"))) {
        places_.push_back({span_text(units_[u].text, toks, b, e), vietnamese ? "VN" : ""});
        for (std::size_t k = b; k < e; ++k) toks[k].mark = Mark::kPlace;
        return;
      }
    }
    Mention m;
    m.unit = u;
    m.begin = b;
    m.end = e;
    m.honorific = honorific;
    m.context = !honorific.empty();
    m.surface = span_text(units_[u].text, toks, b, e);
    for (std::size_t k = b; k < e; ++k) m.words.push_back(toks[k].fold);
    m.vietnamese = all_vietnamese(toks, b, e);
    if (e - b == 1) {
      if (honorific.empty() && common_word(toks[b])) return;
      if (b > 0 && role_entry_at(toks, b - 1) > 0) m.context = true;
    }
    mentions_.push_back(std::move(m));
  }

  // Length of the longest role word sequence starting at k (0 when none).
  static std::size_t role_entry_at(const std::vector<Token>& toks, std::size_t k, RoleKind* kind = nullptr) {
    if (!toks[k].word || toks[k].mark != Mark::kNone) return 0;
    if (kind != nullptr && toks[k].role_words > 0) *kind = toks[k].role_kind;
    return toks[k].role_words;
  }

  static bool stops_role(const Token& t) {
    if (t.mark == Mark::kPerson) return true;
    if (!t.word) return std::string_view(".;:!?«»\"“”").find(t.text) != std::string_view::npos;
    static const std::unordered_set<std::string> verbs = {"a",     "ont", "est",   "sont", "avec",  "lors",
                                                          "que",   "qui", "selon", "dans", "etait", "sera",
                                                          "avait", "has", "have",  "said", "with",  "met"};
    return verbs.count(t.fold) != 0;
  }

  // The head at or before `limit` (exclusive) that reaches `limit` with no stop between; kNoIndex if none.
  std::size_t head_before(const std::vector<Token>& toks, std::size_t limit) const {
    const std::size_t floor = limit > kRoleWindow ? limit - kRoleWindow : 0;
    for (std::size_t p = limit; p-- > floor;) {
      if (stops_role(toks[p])) return kNoIndex;
      if (role_entry_at(toks, p) == 0) continue;
      std::size_t h = p;
      for (std::size_t q = p > g_.max_role_words() ? p - g_.max_role_words() : 0; q < p; ++q) {
        if (role_entry_at(toks, q) > p - q) {
          h = q;
          break;
        }
      }
      return h;
    }
    return kNoIndex;
  }

  RoleFound make_role(std::size_t u, std::size_t h, std::size_t end, std::size_t start = kNoIndex) const {
    const auto& toks = units_[u].tokens;
    RoleKind kind = RoleKind::kRole;
    const std::size_t len = role_entry_at(toks, h, &kind);
    while (end > h + len &&
           (!toks[end - 1].word || is_determiner_or_possessive(toks[end - 1]) || is_connector(toks[end - 1])) &&
           toks[end - 1].text != ")") {
      --end;
    }
    RoleFound r;
    r.counterpart = kind == RoleKind::kCounterpart;
    std::size_t skip = kNoIndex;
    if (h + len < end) {
      r.adjective_country = toks[h + len].adjective;
      if (!r.adjective_country.empty()) skip = h + len;
    }
    // "ambassadeur du Vietnam en Russie", "Đại sứ Liên bang Nga tại Việt Nam": the country served.
    std::size_t k = h + len;
    while (k < end && (is_connector(toks[k]) || is_determiner_or_possessive(toks[k]) || toks[k].elided)) ++k;
    std::string words;
    for (std::size_t n = 0; k + n < end && n < 4 && toks[k + n].word && r.owner_country.empty(); ++n) {
      words += (n > 0 ? " " : "") + toks[k + n].fold;
      r.owner_country = g_.country_of_name(words);
    }
    for (std::size_t q = h + len; q < end && r.named_country.empty(); ++q) {
      std::string c = g_.country_of_name(toks[q].fold);
      if (c.empty() && toks[q].text.find('-') != std::string_view::npos) {
        const std::string_view t = toks[q].text;
        for (std::size_t s = 0, d = 0; d <= t.size() && c.empty(); ++d) {
          if (d < t.size() && t[d] != '-') continue;
          c = g_.country_of_name(entity_fold(t.substr(s, d - s)));
          if (c == "VN") c.clear();
          s = d + 1;
        }
      }
      if (c.empty() && q != skip) c = toks[q].adjective;
      if (r.any_adjective.empty() && q != skip && !toks[q].adjective.empty()) {
        r.any_adjective = toks[q].adjective;
        if (skip == kNoIndex) skip = q;  // "président du Sénat cambodgien" is the role "président du Sénat"
      }
      if (c != "VN") r.named_country = c;
    }
    if (start == kNoIndex) start = h;
    for (std::size_t q = start; q < h; ++q) {
      const std::string& c = toks[q].adjective;
      if (!c.empty() && skip == kNoIndex) {
        r.adjective_country = c;
        skip = q;
      }
    }
    r.text = span_text(units_[u].text, toks, start, end, skip);
    return r;
  }

  void roles_before(Mention& m) {
    const auto& toks = units_[m.unit].tokens;
    std::size_t limit = m.begin;
    if (!m.honorific.empty()) limit -= m.honorific.back() == '.' ? 2 : 1;
    std::vector<RoleFound> found;
    while (true) {
      const std::size_t h = head_before(toks, limit);
      if (h == kNoIndex) break;
      // "Russian Foreign Minister": capitalised words right before an English title belong to it.
      std::size_t start = h;
      while (start > 0 && h - start < 3 && toks[start - 1].word && toks[start - 1].capital &&
             !toks[start - 1].acronym && toks[start - 1].mark == Mark::kNone &&
             !is_function_word(toks[start - 1].fold) && toks[start - 1].org_head == OrgHeadKind::kNone) {
        --start;
      }
      if (start > 0 && is_former(toks[start - 1])) --start;
      found.push_back(make_role(m.unit, h, limit, start));
      std::size_t k = start;
      if (k > 0 && is_determiner_or_possessive(toks[k - 1])) --k;
      if (k == 0 || !(toks[k - 1].text == "," || toks[k - 1].fold == "et")) break;
      limit = k - 1;
    }
    std::reverse(found.begin(), found.end());
    for (RoleFound& r : found) m.roles.push_back(std::move(r));
  }

  void roles_after(Mention& m) {
    const auto& toks = units_[m.unit].tokens;
    std::size_t k = m.end;
    if (k < toks.size() && toks[k].text == "(") {
      while (k < toks.size() && k < m.end + 6 && toks[k].text != ")") ++k;
      ++k;
    }
    if (k >= toks.size() || toks[k].text != ",") return;
    ++k;
    while (k < toks.size()) {
      if (is_determiner_or_possessive(toks[k])) ++k;
      const std::size_t former = k < toks.size() && is_former(toks[k]) ? k++ : kNoIndex;  // "ancien Premier ministre"
      if (k >= toks.size() || role_entry_at(toks, k) == 0) return;
      const std::size_t h = k;
      std::size_t e = h + role_entry_at(toks, h);
      std::size_t next = kNoIndex;
      for (int depth = 0; e < toks.size(); ++e) {
        const Token& t = toks[e];
        if (t.text == "(") ++depth;
        if (t.text == ")") --depth;
        if (depth > 0 || t.text == ")") continue;
        if (stops_role(t)) break;
        if (t.text == "," || t.fold == "et") {
          std::size_t q = e + 1;
          if (q < toks.size() && is_determiner_or_possessive(toks[q])) ++q;
          if (q < toks.size() && role_entry_at(toks, q) > 0) next = e + 1;
          if (t.text == "," || next != kNoIndex) break;
        }
      }
      m.roles.push_back(make_role(m.unit, h, e, former));
      if (next == kNoIndex) return;
      k = next;
    }
  }

  std::span<Unit> units_;
  const Gazetteer& g_;
  std::vector<Mention> mentions_;

 public:
  std::vector<std::pair<std::string, std::string>> places_;  // name, ISO2 or empty
};

// One consonant skeleton per word: vowels, h and doubled letters dropped, ch/sh/tch/zh/j as one sound,
// x as ks, c/q as k, w as v; the first letter kept. "Alexandre"/"Alexander" -> "alksndr".
std::string skeleton(const std::string& word) {
  std::string s;
  // The letter k places on (none past the end): the tests below compare letters, not substrings.
  const auto at = [&word](std::size_t k) { return k < word.size() ? word[k] : '\0'; };
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    if ((c == 't' || c == 's') && at(i + 1) == 'c' && at(i + 2) == 'h') {  // "tch", "sch"
      s += "sh";
      i += 2;
    } else if ((c == 'c' || c == 's' || c == 'z') && at(i + 1) == 'h') {  // "ch", "sh", "zh"
      s += "sh";
      ++i;
    } else if (c == 'j') {
      s += "sh";
    } else if (c == 'x') {
      s += "ks";
    } else if (c == 'c' || c == 'q') {
      s += 'k';
    } else if (c == 'w') {
      s += 'v';
    } else if (!(c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y' || c == 'h') || i == 0) {
      s += c;
    }
    if (s.size() >= 2 && s[s.size() - 1] == s[s.size() - 2]) s.pop_back();
  }
  return s;
}

std::vector<std::string> words_of(const std::string& folded) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= folded.size(); ++i) {
    if (i == folded.size() || folded[i] == ' ') {
      if (i > start) out.push_back(folded.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

struct Group {
  std::vector<std::size_t> mentions;
  std::size_t best = 0;  // the fullest mention
};

bool contains_all_words(const std::string& small, const std::string& big) {
  const std::vector<std::string> b = words_of(big);
  for (const std::string& w : words_of(small)) {
    if (std::find(b.begin(), b.end(), w) == b.end()) return false;
  }
  return true;
}

void add_unique(std::vector<std::string>& list, const std::string& value, const std::string& except) {
  const std::string f = entity_fold(value);
  if (f.empty() || f == entity_fold(except)) return;
  for (const std::string& x : list) {
    if (x == value) return;
  }
  list.push_back(value);
}

}  // namespace

std::vector<Person> find_persons(std::span<Unit> units, const Gazetteer& g, const std::string& foreign,
                                 std::vector<std::pair<std::string, std::string>>& places) {
  PersonFinder finder(units, g);
  std::vector<Mention> mentions = finder.find();
  places = std::move(finder.places_);
  std::vector<Group> groups;
  // Each mention's key and first and last word skeletons, made once: the grouping compares them pairwise.
  std::vector<std::string> keys, first_sounds, last_sounds;
  for (const Mention& m : mentions) {
    keys.push_back(person_key(m.surface));
    first_sounds.push_back(m.words.empty() ? std::string() : skeleton(m.words.front()));
    last_sounds.push_back(m.words.empty() ? std::string() : skeleton(m.words.back()));
  }
  // Full names first: one group per key; same first and last word skeleton joins a longer spelling.
  for (std::size_t i = 0; i < mentions.size(); ++i) {
    const Mention& m = mentions[i];
    if (m.words.size() < 2) continue;
    std::vector<std::size_t> hits;
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
      const std::size_t b = groups[gi].best;
      const bool same = keys[b] == keys[i] ||
                        (!m.vietnamese && first_sounds[b] == first_sounds[i] && last_sounds[b] == last_sounds[i]);
      if (same) hits.push_back(gi);
    }
    if (hits.size() == 1) {
      Group& grp = groups[hits.front()];
      grp.mentions.push_back(i);
      if (m.words.size() > mentions[grp.best].words.size()) grp.best = i;
    } else {
      groups.push_back({{i}, i});
    }
  }
  // Short forms: the last word of exactly one full name ("Mai", "Lavrov"); shared by two, left alone.
  for (std::size_t i = 0; i < mentions.size(); ++i) {
    const Mention& m = mentions[i];
    if (m.words.size() != 1) continue;
    std::vector<std::size_t> hits;
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
      for (std::size_t mi : groups[gi].mentions) {
        const Mention& f = mentions[mi];
        if (f.words.size() >= 2 &&
            (f.vietnamese ? f.words.back() == m.words.front() : last_sounds[mi] == first_sounds[i])) {
          hits.push_back(gi);
          break;
        }
      }
    }
    if (hits.size() == 1) {
      groups[hits.front()].mentions.push_back(i);
    } else if (hits.empty() && m.context) {
      auto same = std::find_if(groups.begin(), groups.end(), [&](const Group& grp) {
        return mentions[grp.best].words.size() == 1 && mentions[grp.best].words == m.words;
      });
      if (same != groups.end()) {
        same->mentions.push_back(i);
      } else {
        groups.push_back({{i}, i});
      }
    }
  }

  std::vector<Person> persons;
  for (const Group& grp : groups) {
    const Mention& best = mentions[grp.best];
    Person p;
    p.name = best.surface;
    p.key = keys[grp.best];
    std::vector<RoleFound> roles;
    for (std::size_t mi : grp.mentions) {
      const Mention& m = mentions[mi];
      add_unique(p.aliases, m.surface, p.name);
      if (!m.honorific.empty()) add_unique(p.aliases, m.honorific + " " + m.surface, "");
      for (const RoleFound& r : m.roles) roles.push_back(r);
    }
    // Counterparts take the roles of the person met in the same paragraph.
    if (std::any_of(roles.begin(), roles.end(), [](const RoleFound& r) { return r.counterpart; })) {
      for (std::size_t mi : grp.mentions) {
        for (const Mention& other : mentions) {
          if (other.unit != mentions[mi].unit || &other == &mentions[mi]) continue;
          for (const RoleFound& r : other.roles) {
            if (r.counterpart) continue;
            RoleFound copy = r;
            copy.adjective_country.clear();
            copy.owner_country.clear();
            copy.named_country.clear();
            roles.push_back(copy);
          }
        }
      }
    }
    std::optional<std::string> country;
    for (const RoleFound& r : roles) {
      if (!country && !r.adjective_country.empty()) country = r.adjective_country;
    }
    for (const RoleFound& r : roles) {
      if (!country && !r.owner_country.empty()) country = r.owner_country;
    }
    for (const RoleFound& r : roles) {
      if (!country && !r.any_adjective.empty()) country = r.any_adjective;
    }
    if (!country && best.vietnamese) country = "VN";
    for (const RoleFound& r : roles) {
      if (!country && !r.named_country.empty()) country = r.named_country;
    }
    if (!country && !foreign.empty()) country = foreign;
    p.country = country;
    // A role whose words all appear in a longer one ("ministre" beside "ministre de la Justice") is dropped.
    std::vector<std::string> folded_roles;
    for (const RoleFound& r : roles) folded_roles.push_back(r.counterpart ? std::string() : entity_fold(r.text));
    std::vector<std::string> unique_roles, unique_folded;
    for (std::size_t a = 0; a < roles.size(); ++a) {
      const std::string& f = folded_roles[a];
      if (f.empty() || std::find(unique_folded.begin(), unique_folded.end(), f) != unique_folded.end()) continue;
      const bool covered = std::any_of(folded_roles.begin(), folded_roles.end(), [&](const std::string& o) {
        return !o.empty() && o != f && contains_all_words(f, o);
      });
      if (covered) continue;
      unique_roles.push_back(roles[a].text);
      unique_folded.push_back(f);
    }
    p.roles = std::move(unique_roles);
    persons.push_back(std::move(p));
  }
  return persons;
}

}  // namespace entities

std::string person_key(const std::string& name) {
  const std::vector<std::string> words = entities::words_of(entity_fold(name));
  const bool vietnamese = std::all_of(words.begin(), words.end(), entities::vietnamese_syllable);
  if (vietnamese) return entity_fold(name);
  std::string key;
  for (const std::string& w : words) key += (key.empty() ? "" : " ") + entities::skeleton(w);
  return key;
}

}  // namespace vnawire::extract
