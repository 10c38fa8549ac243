// Entities of a dispatch: places from the gazetteer, organisations from their head nouns and acronyms,
// persons from extract_persons.cc; and their JSON form. Rules and resources: docs/extract.md, "Entities".
#include "stages/extract/extract_entities.h"

#include <algorithm>
#include <map>
#include <optional>
#include <span>

#include <nlohmann/json.hpp>

#include "stages/extract/extract_article_tokens.h"
#include "stages/extract/extract_entity_tokens.h"
#include "stages/extract/extract_gazetteer.h"
#include "stages/extract/extract_lexicon.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace entities {

bool is_connector(const Token& t) {
  const std::string_view f = t.fold;  // compared inline with each literal, without strlen
  return f == "de" || f == "du" || f == "des" || f == "d" || f == "of";
}

bool is_function_word(const std::string& f) { return default_gazetteer().stop_word(f); }

bool common_word(const Token& t) {
  if (t.common >= 0) return t.common != 0;
  t.common = 1;
  if (is_function_word(t.fold)) return true;
  const std::string lower = util::to_lower(t.text);
  for (const char* language : {"fr", "en"}) {
    const Lexicon* lexicon = system_lexicon(language);
    if (lexicon != nullptr && lexicon->contains(lower)) return true;
  }
  t.common = 0;
  return false;
}

namespace {

struct OrgFound {
  Organization org;
  std::size_t unit = 0, begin = 0, end = 0;
};

bool is_stop(const Token& t) {
  if (!t.word) return true;
  if (t.capital) return false;
  if (is_function_word(t.fold)) return true;
  const std::size_t n = t.fold.size();
  return n >= 5 && t.fold.compare(n - 3, 3, "ant") == 0;  // "ayant", "visant": a participle ends the name
}

// Verb forms that end a name: "considéraient"; a participle after a capitalised word or before "par"
// ("des Sports conduite par"), where "forces armées" keeps its adjective. `loose_words` counts the
// lower-case words in a row that follow no connector, this one included.
bool verb_like(const std::vector<Token>& toks, std::size_t j, int loose_words) {
  const std::string_view w = toks[j].text;
  auto ends = [&w](std::string_view ending) {
    return w.size() > ending.size() + 2 && w.substr(w.size() - ending.size()) == ending;
  };
  if (ends("aient") || ends("ait")) return true;
  // "Union européenne atteignent": a second adjective in -ent is a verb ("Comité permanent" keeps its first).
  if (loose_words >= 2 && ends("ent") && !ends("ment")) return true;
  const bool participle = ends("é") || ends("ée") || ends("és") || ends("ées") || ends("uite");
  const bool after_name = j > 0 && toks[j - 1].capital;
  const bool before_agent = j + 1 < toks.size() && (toks[j + 1].fold == "par" || toks[j + 1].fold == "by");
  return participle && (after_name || before_agent);
}

bool is_determiner(const Token& t) {
  const std::string_view f = t.fold;
  return f == "la" || f == "le" || f == "l" || f == "les" || f == "the";
}

struct PlaceHit {
  std::size_t unit = 0, token = 0;
  std::string name;
  std::size_t id = 0;
};

// Places: the longest gazetteer name starting at each capitalised word; a hyphenated word is also tried in
// its parts ("Vietnam-Russie").
void mark_places(Unit& unit, std::size_t u, const Gazetteer& g, std::vector<PlaceHit>& hits) {
  auto& toks = unit.tokens;
  for (std::size_t i = 0; i < toks.size(); ++i) {
    if (!toks[i].word || !toks[i].capital) continue;
    std::string key, best_key;
    std::size_t best = 0;
    for (std::size_t n = 1; n <= g.max_place_words() && i + n <= toks.size(); ++n) {
      if (!toks[i + n - 1].word) break;
      if (n > 1) key += ' ';
      key += toks[i + n - 1].fold;
      if (!g.place_prefix(key)) break;
      if (g.place(key) != nullptr) best = n, best_key = key;
    }
    // "Truong Hoa Binh": a Vietnamese place name right after a capitalised syllable is a given name.
    const Token* prev = i > 0 ? &toks[i - 1] : nullptr;
    if (best > 0 && prev != nullptr && prev->word && prev->capital && prev->mark == Mark::kNone &&
        vietnamese_syllable(prev->fold) && !is_function_word(prev->fold) && prev->role_words == 0 &&
        prev->org_head == OrgHeadKind::kNone && vietnamese_syllable(toks[i].fold)) {
      i += best - 1;
      continue;
    }
    if (best > 0) {
      hits.push_back({u, i, span_text(unit.text, toks, i, i + best), g.place_id(best_key)});
      for (std::size_t n = 0; n < best; ++n) toks[i + n].mark = Mark::kPlace;
      i += best - 1;
      continue;
    }
    const std::string_view text = toks[i].text;
    if (text.find('-') == std::string_view::npos) continue;
    for (std::size_t start = 0, k = 0; k <= text.size(); ++k) {
      if (k < text.size() && text[k] != '-') continue;
      const std::string_view part = text.substr(start, k - start);
      const std::string f = entity_fold(part);
      if (g.place(f) != nullptr) {
        hits.push_back({u, i, std::string(part), g.place_id(f)});
        toks[i].mark = Mark::kPlace;
      }
      start = k + 1;
    }
  }
}

// An organisation name opening at `i` (a head noun): extends over connectors, nouns and adjectives up to a
// stop word or punctuation. Returns the end (exclusive), or i when nothing follows the head.
std::size_t org_extent(const std::vector<Token>& toks, std::size_t i, bool embassy) {
  std::size_t j = i + 1, last = i;
  bool after_connector = false;
  int loose_words = 0;
  // A lower-case word that may carry on a name after "et" or a comma: not a function word, not a role.
  auto continues = [&](const Token* t) {
    return t != nullptr && t->word && !t->capital && !is_stop(*t) && !is_connector(*t) && !t->role_word;
  };
  // "et des Sports": connectors, then a capitalised word that does not open another body.
  auto capital_after_connector = [&](std::size_t k) {
    const std::size_t from = k;
    if (k >= toks.size() || !is_connector(toks[k])) return false;
    while (k < toks.size() && (is_connector(toks[k]) || is_determiner(toks[k]) || toks[k].elided)) ++k;
    return k > from && k < toks.size() && toks[k].word && toks[k].capital && !toks[k].acronym &&
           toks[k].org_head == OrgHeadKind::kNone && toks[k].mark == Mark::kNone;
  };
  while (j < toks.size() && j - i < 24) {
    const Token& t = toks[j];
    const Token* next = j + 1 < toks.size() ? &toks[j + 1] : nullptr;
    if (is_connector(t) || t.elided || (after_connector && is_determiner(t))) {
      after_connector = true;
      ++j;
      continue;
    }
    // "coopération économique, commerciale, scientifique et technique"
    if (last + 1 == j && ((t.text == "," && continues(next) && j + 2 < toks.size() &&
                           (toks[j + 2].text == "," || toks[j + 2].fold == "et")) ||
                          ((t.fold == "et" || t.fold == "and") &&
                           (continues(next) || capital_after_connector(j + 1) ||
                            (next != nullptr && next->capital && next->word && !next->acronym &&
                             next->org_head == OrgHeadKind::kNone && next->mark == Mark::kNone))))) {
      loose_words = 0;
      ++j;
      continue;
    }
    // "Comité … pour la coopération", "Une Russie Juste - Patriotes"
    if (last + 1 == j && ((t.fold == "pour" && next != nullptr && is_determiner(*next)) ||
                          (t.text == "-" && next != nullptr && next->capital))) {
      after_connector = true;
      ++j;
      continue;
    }
    if (embassy && (t.fold == "en" || t.fold == "au" || t.fold == "in") && next != nullptr && next->capital &&
        next->mark == Mark::kPlace) {
      last = j + 1;
      break;
    }
    const bool number = std::all_of(t.text.begin(), t.text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!t.word || t.acronym || number || (!t.capital && is_stop(t))) break;
    // A capitalised word joins only after a connector, right after the head, as a place or as an ordinary
    // word ("Juste"): otherwise it opens something else, such as the name of the person who heads it.
    // Vietnamese names of bodies capitalise each word ("Ban Chấp hành Trung ương"): after a Vietnamese head,
    // Vietnamese syllables go on.
    const bool vietnamese_run = vietnamese_syllable(toks[i].fold) && vietnamese_syllable(t.fold) &&
                                vietnamese_syllable(toks[j - 1].fold) && toks[j - 1].mark != Mark::kPlace;
    // A Vietnamese name of a body is short, ends with its place, and has lower-case words only inside
    // compounds ("Ngoại giao").
    if (vietnamese_syllable(toks[i].fold) &&
        (j - i > 4 || (toks[j - 1].mark == Mark::kPlace && t.mark != Mark::kPlace) ||
         (!t.capital && !toks[j - 1].capital))) {
      break;
    }
    if (t.capital && !after_connector && j != i + 1 && t.mark != Mark::kPlace && !is_function_word(t.fold) &&
        !common_word(t) && !vietnamese_run) {
      break;
    }
    if (!t.capital && !after_connector && (++loose_words > 3 || verb_like(toks, j, loose_words))) break;
    if (t.capital || after_connector) loose_words = 0;
    after_connector = t.capital && is_function_word(t.fold);
    last = j;
    ++j;
  }
  return last + 1;
}

std::string acronym_after(const std::vector<Token>& toks, std::size_t end) {
  if (end + 2 >= toks.size() || toks[end].text != "(" || !toks[end + 1].acronym) return {};
  std::string acronym(toks[end + 1].text);
  std::size_t k = end + 2;
  for (; k < toks.size() && k < end + 4 && toks[k].text != ")"; ++k) {
    if (toks[k].word && !toks[k].acronym) return {};  // "(HTML entities decoded)" is an aside, "(ADMM +)" a name
    acronym += " " + std::string(toks[k].text);
  }
  return k < toks.size() && toks[k].text == ")" ? acronym : std::string();
}

void find_organizations(std::span<Unit> units, const Gazetteer& g, std::vector<OrgFound>& found) {
  for (std::size_t u = 0; u < units.size(); ++u) {
    auto& toks = units[u].tokens;
    std::size_t covered = 0;
    for (std::size_t i = 0; i < toks.size(); ++i) {
      const OrgHeadKind head = toks[i].org_head;
      if (head == OrgHeadKind::kNone || toks[i].mark == Mark::kPlace || toks[i].role_words > 0) continue;
      if (i < covered && !(i > 0 && (is_connector(toks[i - 1]) || toks[i - 1].elided))) continue;
      const bool embassy = toks[i].fold == "ambassade" || toks[i].fold == "consulat" || toks[i].fold == "embassy";
      const std::size_t end = head == OrgHeadKind::kAlone ? i + 1 : org_extent(toks, i, embassy);
      if (end <= i + 1 && head != OrgHeadKind::kAlone) continue;
      OrgFound f;
      f.unit = u;
      f.begin = i;
      f.end = end;
      std::size_t from = i, skip = static_cast<std::size_t>(-1);
      // English names put their words before the head: "Communist Party", "Lao Ministry of Finance".
      while (from > 0 && i - from < 3) {
        const Token& p = toks[from - 1];
        if (!p.word || !p.capital || p.acronym || p.elided || is_function_word(p.fold) || p.role_words > 0 ||
            p.org_head != OrgHeadKind::kNone || (p.mark != Mark::kNone && p.mark != Mark::kPlace)) {
          break;
        }
        --from;
      }
      f.begin = from;
      if (from < i && !toks[from].adjective.empty()) {
        f.org.country = toks[from].adjective;
        skip = from;
      }
      // "parti Russie unie": the party's own name follows the word "parti".
      if (from == i && (toks[i].fold == "parti" || toks[i].fold == "party") && end > i + 1 && toks[i + 1].capital &&
          toks[i + 1].org_head == OrgHeadKind::kNone) {
        from = i + 1;
      }
      for (std::size_t k = i + 1; k < end; ++k) {
        const std::string& c = toks[k].adjective;
        if (c.empty()) continue;
        if (!f.org.country) f.org.country = c;
        if (k == i + 1 && skip == static_cast<std::size_t>(-1)) skip = k;
      }
      f.org.name = span_text(units[u].text, toks, from, end, skip);
      if (skip != static_cast<std::size_t>(-1)) f.org.aliases.push_back(span_text(units[u].text, toks, from, end));
      for (std::size_t k = i + 1; k < end && !f.org.country; ++k) {
        const std::string c = g.country_of_name(toks[k].fold);
        if (!c.empty()) f.org.country = c;
      }
      if (const std::string a = acronym_after(toks, end); !a.empty()) f.org.acronym = a;
      found.push_back(std::move(f));
      covered = std::max(covered, end);
    }
    for (const OrgFound& f : found) {
      if (f.unit != u) continue;
      for (std::size_t k = f.begin; k < f.end; ++k) toks[k].mark = Mark::kOrganization;
    }
  }
}

void add_acronym_organizations(std::span<Unit> units, const Gazetteer& g, std::vector<OrgFound>& found) {
  for (std::size_t u = 0; u < units.size(); ++u) {
    auto& toks = units[u].tokens;
    for (std::size_t i = 0; i < toks.size(); ++i) {
      const Token& t = toks[i];
      if (!t.acronym || t.mark != Mark::kNone) continue;
      // "(PCV)" right after an organisation's name is its acronym, already taken; after other words, a
      // body known by its acronym only ("réunion élargie … (ADMM +)").
      std::string text(t.text);
      if (i > 0 && toks[i - 1].text == "(") {
        if (i < 2 || toks[i - 2].mark == Mark::kOrganization) continue;
        text = acronym_after(toks, i - 1);
        if (text.empty()) continue;
      }
      const bool digits = std::any_of(t.text.begin(), t.text.end(), [](char c) { return c >= '0' && c <= '9'; });
      const KnownOrganization* known = g.known_organization(t.fold);
      // "SEA Games", "APEC Business": an acronym opening a longer name is not the organisation itself.
      const bool opens_name = i + 1 < toks.size() && toks[i + 1].word && toks[i + 1].capital && !toks[i + 1].acronym;
      if (digits || (t.fold.size() < 3 && known == nullptr) || is_function_word(t.fold) || opens_name) continue;
      OrgFound f;
      f.unit = u;
      f.begin = i;
      f.end = i + 1;
      f.org.name = known != nullptr ? known->name : text;
      f.org.acronym = text;
      if (known != nullptr && !known->country.empty()) f.org.country = known->country;
      found.push_back(std::move(f));
    }
  }
}

std::string org_rest_after_prefix(const std::string& shorter, const std::string& longer) {
  if (longer.size() <= shorter.size() + 1 || longer.compare(0, shorter.size(), shorter) != 0 ||
      longer[shorter.size()] != ' ') {
    return {};
  }
  return longer.substr(shorter.size() + 1);
}

std::vector<Organization> merge_organizations(std::vector<OrgFound>& found, const Gazetteer& g) {
  std::vector<Organization> out;
  // The folded forms of each kept organisation, beside it: folding the same names again for every
  // comparison was 4% of a dispatch's extraction.
  struct Folded {
    std::string name;
    std::optional<std::string> acronym;
    std::vector<std::string> aliases;
  };
  std::vector<Folded> folded;
  const auto fold_opt = [](const std::optional<std::string>& s) {
    return s ? std::optional<std::string>(entity_fold(*s)) : std::nullopt;
  };
  for (OrgFound& f : found) {
    Organization& o = f.org;
    std::string key = entity_fold(o.name);
    if (const KnownOrganization* k = g.known_organization(key)) {
      if (!o.acronym && !k->acronym.empty()) o.acronym = k->acronym;
      if (!o.country && !k->country.empty()) o.country = k->country;
    }
    std::optional<std::string> acronym = fold_opt(o.acronym);
    const auto same_at = std::find_if(folded.begin(), folded.end(), [&](const Folded& x) {
      if (x.name == key) return true;
      if (acronym && x.acronym && *acronym == *x.acronym) return true;
      return std::find(x.aliases.begin(), x.aliases.end(), key) != x.aliases.end();
    });
    if (same_at == folded.end()) {
      std::vector<std::string> aliases;
      for (const std::string& a : o.aliases) aliases.push_back(entity_fold(a));
      out.push_back(o);
      folded.push_back({std::move(key), std::move(acronym), std::move(aliases)});
      continue;
    }
    Organization* same = &out[static_cast<std::size_t>(same_at - folded.begin())];
    Folded& same_folded = *same_at;
    // The longer spelling is the name; an acronym-only record takes the full name when one comes.
    const bool replace = same->acronym && same_folded.name == *same_folded.acronym && !o.acronym;
    if (replace || (same->acronym && o.acronym && same->name == *same->acronym && o.name != *o.acronym)) {
      std::swap(same->name, o.name);
      std::swap(same_folded.name, key);
    }
    if (!same->acronym) {
      same->acronym = o.acronym;
      same_folded.acronym = std::move(acronym);
    }
    if (!same->country) same->country = o.country;
    for (const std::string& a : o.aliases) {
      same->aliases.push_back(a);
      same_folded.aliases.push_back(entity_fold(a));
    }
    if (key != same_folded.name) {
      same->aliases.push_back(o.name);
      same_folded.aliases.push_back(std::move(key));
    }
  }
  // "ambassade du Vietnam" beside "ambassade du Vietnam en Russie": the same body, placed.
  for (std::size_t a = 0; a < out.size(); ++a) {
    for (std::size_t b = 0; b < out.size(); ++b) {
      if (a == b || out[a].name.empty() || out[b].name.empty()) continue;
      const std::string rest = org_rest_after_prefix(folded[a].name, folded[b].name);
      if (rest.rfind("en ", 0) != 0 && rest.rfind("au ", 0) != 0 && rest.rfind("in ", 0) != 0) continue;
      out[b].aliases.push_back(out[a].name);
      out[a].name.clear();
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    Organization& o = out[i];
    if (o.name.empty()) continue;
    std::vector<std::string> unique, unique_folded;
    for (const std::string& a : o.aliases) {
      std::string f = entity_fold(a);
      if (f == folded[i].name) continue;
      if (std::find(unique_folded.begin(), unique_folded.end(), f) == unique_folded.end()) {
        unique.push_back(a);
        unique_folded.push_back(std::move(f));
      }
    }
    o.aliases = std::move(unique);
  }
  std::erase_if(out, [](const Organization& o) { return o.name.empty(); });
  return out;
}

}  // namespace
}  // namespace entities

namespace {

// A dispatch is a few kilobytes; merging mentions is quadratic in their number, so a runaway page is read
// only this far.
constexpr std::size_t kMaxEntityTextBytes = 256u << 10;

Entities extract_entities_unguarded(const Article& article, ArticleTokens& tokens) {
  using namespace entities;
  const Gazetteer& g = default_gazetteer();
  std::size_t read = 0, bytes = 0;
  while (read < tokens.units.size() && (bytes += tokens.units[read].text.size()) <= kMaxEntityTextBytes) ++read;
  const std::span<Unit> units(tokens.units.data(), read);

  std::vector<PlaceHit> place_hits;
  for (std::size_t u = 0; u < units.size(); ++u) mark_places(units[u], u, g, place_hits);
  std::vector<OrgFound> found;
  find_organizations(units, g, found);
  add_acronym_organizations(units, g, found);

  // The country other than Vietnam the dispatch speaks most of: places and nationality adjectives.
  std::map<std::string, int> mentions;
  for (const Unit& unit : units) {
    for (const Token& t : unit.tokens) {
      std::string c = t.adjective;
      if (c.empty() && t.capital) {
        const PlaceEntry* p = g.place(t.fold);
        if (p != nullptr) c = p->country;
      }
      if (!c.empty() && c != "VN") ++mentions[c];
    }
  }
  std::string foreign;
  int best = 0;
  for (const auto& [c, n] : mentions) {
    if (n > best) foreign = c, best = n;
  }

  Entities out;
  std::vector<std::pair<std::string, std::string>> unknown_places;
  out.persons = find_persons(units, g, foreign, unknown_places);
  out.organizations = merge_organizations(found, g);

  // Places: the gazetteer's, outside organisation names; the dateline's place too.
  std::vector<std::pair<std::string, std::size_t>> seen;
  if (article.dateline && article.dateline->place) {
    const std::string f = entity_fold(*article.dateline->place);
    seen.emplace_back(*article.dateline->place, g.place(f) != nullptr ? g.place_id(f) : static_cast<std::size_t>(-1));
  }
  for (const PlaceHit& hit : place_hits) {
    if (units[hit.unit].tokens[hit.token].mark == Mark::kPlace) seen.emplace_back(hit.name, hit.id);
  }
  std::map<std::string, std::string> unknown_country;
  for (const auto& [name, country] : unknown_places) {
    seen.emplace_back(name, static_cast<std::size_t>(-1));
    if (!country.empty()) unknown_country[name] = country;
  }
  std::vector<std::pair<std::size_t, std::string>> kept;  // gazetteer id and folded name of each place
  for (const auto& [name, id] : seen) {
    const std::string folded = entity_fold(name);
    // `id = id`: clang before 16 cannot capture a structured binding (scripts/fuzz builds with clang 14).
    auto same = std::find_if(kept.begin(), kept.end(), [&, id = id](const auto& k) {
      return (id != static_cast<std::size_t>(-1) && k.first == id) || k.second == folded;
    });
    if (same == kept.end()) {
      Place p;
      p.name = name;
      const PlaceEntry* e = g.place(folded);
      if (e != nullptr && !e->country.empty()) p.country = e->country;
      if (const auto it = unknown_country.find(name); it != unknown_country.end()) p.country = it->second;
      out.places.push_back(std::move(p));
      kept.emplace_back(id, folded);
      continue;
    }
    Place& place = out.places[static_cast<std::size_t>(same - kept.begin())];
    if (same->second != folded && std::find(place.aliases.begin(), place.aliases.end(), name) == place.aliases.end()) {
      place.aliases.push_back(name);
    }
  }
  return out;
}

}  // namespace

Entities extract_entities(const Article& article, ArticleTokens& tokens) {
  try {
    return extract_entities_unguarded(article, tokens);
  } catch (...) {
    // Only allocation can fail here: no entities rather than an exception out of the stage.
    return {};
  }
}

Entities extract_entities(const Article& article) {
  try {
    ArticleTokens tokens = tokenize_article(article);
    return extract_entities_unguarded(article, tokens);
  } catch (...) {
    return {};
  }
}

nlohmann::json entities_to_json(const Entities& entities) {
  auto optional = [](const std::optional<std::string>& s) { return s ? nlohmann::json(*s) : nlohmann::json(nullptr); };
  nlohmann::json persons = nlohmann::json::array(), organizations = nlohmann::json::array(),
                 places = nlohmann::json::array();
  for (const Person& p : entities.persons) {
    persons.push_back({{"name", p.name},
                       {"aliases", p.aliases},
                       {"country", optional(p.country)},
                       {"roles", p.roles},
                       {"key", p.key}});
  }
  for (const Organization& o : entities.organizations) {
    organizations.push_back(
        {{"name", o.name}, {"aliases", o.aliases}, {"acronym", optional(o.acronym)}, {"country", optional(o.country)}});
  }
  for (const Place& p : entities.places) {
    places.push_back({{"name", p.name}, {"aliases", p.aliases}, {"country", optional(p.country)}});
  }
  return {{"persons", std::move(persons)}, {"organizations", std::move(organizations)}, {"places", std::move(places)}};
}

}  // namespace vnawire::extract
