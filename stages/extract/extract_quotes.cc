// Quotes: quoted spans of four words or more that an attribution verb ("a déclaré", "selon", "said") in
// the same or the next sentence marks as speech; the speaker is the person named next to that verb, else
// the person a pronoun ("il", "a-t-elle") or a role noun ("le ministre") refers to.
#include "stages/extract/extract_quotes.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>
#include <unordered_set>

#include "stages/extract/extract_article_tokens.h"
#include "stages/extract/extract_entity_tokens.h"
#include "stages/extract/extract_gazetteer.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

using entities::honorific;
using entities::kNoIndex;
using entities::sentence_end;
using entities::split_words;
using entities::Token;
using entities::Word;

// Fewer words than this inside the marks is a quoted term, a name or a title, never speech.
constexpr std::size_t kMinQuoteWords = 4;
// Content words allowed between the attribution verb and the quotation marks (close_enough).
constexpr std::size_t kMaxGapWords = 2;

// Folded forms: the past participle and the present of French verbs fold alike ("souligné", "souligne").
bool attribution_word(const std::string& f) {
  static const std::unordered_set<std::string> kWords = {
      // French
      "declare", "souligne", "affirme", "dit", "indique", "estime", "ajoute", "precise", "insiste", "rappele",
      "rappelle", "explique", "assure", "martele", "reaffirme", "constate", "confie", "annonce", "poursuivi",
      "poursuit", "conclu", "conclut", "releve", "averti", "avertit", "proclame", "temoigne", "confirme", "reconnu",
      "reconnait", "observe", "selon", "exclame", "lance", "repondu", "repond", "declarait", "soulignait", "affirmait",
      "disait",
      // English
      "said", "says", "stated", "stressed", "added", "noted", "told", "affirmed", "emphasised", "emphasized",
      "underlined", "highlighted", "explained", "declared", "remarked", "asserted", "according", "insisted",
      "confirmed", "announced", "concluded", "reaffirmed", "recalled", "commented"};
  return kWords.contains(f);
}

bool feminine_honorific(std::string_view f) {
  return f == "mme" || f == "mrs" || f == "ms" || f == "mlle" || f == "ba";
}
bool masculine_honorific(std::string_view f) { return f == "m" || f == "mr" || f == "ong"; }

enum class Gender { kUnknown, kMale, kFemale };

Gender pronoun_gender(const std::string& f) {
  if (f == "il" || f == "he" || f == "lui") return Gender::kMale;
  if (f == "elle" || f == "she") return Gender::kFemale;
  return Gender::kUnknown;
}

struct Span {
  std::size_t open = 0, close = 0;  // token indices of the marks
};

struct SpeakerMention {
  std::size_t unit = 0, token = 0, person = 0;
};

struct UnitView {
  std::string_view text;
  std::span<const Token> tokens;  // the shared tokens (ArticleTokens)
  std::span<const Word> words;
  std::vector<Span> quotes;
  std::vector<bool> quoted;  // per token: inside a quote (marks included)
};

bool is_mark(const Token& t, std::string_view mark) { return !t.word && t.text == mark; }

// Top-level quotations: « » and “ ” nest, a straight quote closes the previous one.
std::vector<Span> find_quotes(std::span<const Token> tokens) {
  std::vector<Span> spans;
  std::size_t open = kNoIndex;
  std::string_view closer;
  int depth = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.word) continue;
    if (open == kNoIndex) {
      if (t.text == "«" || t.text == "“" || t.text == "\"") {
        open = i;
        closer = t.text == "«" ? "»" : t.text == "“" ? "”" : "\"";
        depth = 1;
      }
      continue;
    }
    const std::string_view opener = tokens[open].text;
    if (t.text == closer && --depth == 0) {
      spans.push_back({open, i});
      open = kNoIndex;
    } else if (t.text == opener && closer != "\"") {
      ++depth;
    }
  }
  return spans;
}

class QuoteFinder {
 public:
  QuoteFinder(const ArticleTokens& tokens, const Entities& entities) : entities_(entities) {
    auto add = [&](const entities::Unit& shared) {
      UnitView unit;
      unit.text = shared.text;
      unit.tokens = shared.tokens;
      unit.words = shared.words;
      unit.quotes = find_quotes(unit.tokens);
      unit.quoted.assign(unit.tokens.size(), false);
      for (const Span& s : unit.quotes)
        std::fill(unit.quoted.begin() + s.open, unit.quoted.begin() + s.close + 1, true);
      units_.push_back(std::move(unit));
    };
    // The lead even when it repeats the first paragraph: each quotation is read where it stands.
    if (tokens.title != ArticleTokens::kAbsent) add(tokens.units[tokens.title]);
    if (tokens.lead != ArticleTokens::kAbsent) add(tokens.units[tokens.lead]);
    for (std::size_t u = tokens.body; u < tokens.units.size(); ++u) add(tokens.units[u]);
    find_mentions();
  }

  std::vector<Quote> run() {
    std::vector<Quote> quotes;
    for (std::size_t u = 0; u < units_.size(); ++u) {
      for (const Span& span : units_[u].quotes) {
        std::optional<Quote> q = read(u, span);
        if (q) quotes.push_back(std::move(*q));
      }
    }
    return quotes;
  }

 private:
  // Every naming of a person outside the quotations, in reading order; genders from honorifics.
  void find_mentions() {
    gender_.assign(entities_.persons.size(), Gender::kUnknown);
    std::vector<std::pair<std::vector<std::string>, std::size_t>> forms;
    for (std::size_t p = 0; p < entities_.persons.size(); ++p) {
      const Person& person = entities_.persons[p];
      std::vector<std::string> all = person.aliases;
      all.push_back(person.name);
      for (const std::string& form : all) {
        std::vector<std::string> words = split_words(entity_fold(form));
        if (!words.empty() && honorific(words.front())) {
          note_gender(p, words.front());
          words.erase(words.begin());
        }
        if (!words.empty()) forms.emplace_back(std::move(words), p);
      }
    }
    // Longest forms first, so "Nguyen Van An" wins over "An".
    std::stable_sort(forms.begin(), forms.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (std::size_t u = 0; u < units_.size(); ++u) {
      const UnitView& unit = units_[u];
      for (std::size_t w = 0; w < unit.words.size();) {
        std::size_t matched = 0;
        for (const auto& [words, p] : forms) {
          if (w + words.size() > unit.words.size()) continue;
          bool same = true;
          for (std::size_t k = 0; k < words.size() && same; ++k) same = unit.words[w + k].fold == words[k];
          if (!same || !unit.tokens[unit.words[w].token].capital) continue;
          const std::size_t token = unit.words[w].token;
          if (!unit.quoted[token]) {
            mentions_.push_back({u, token, p});
            if (token > 0 && unit.tokens[token - 1].word) note_gender(p, unit.tokens[token - 1].fold);
            if (token > 1 && is_mark(unit.tokens[token - 1], ".")) note_gender(p, unit.tokens[token - 2].fold);
          }
          matched = words.size();
          break;
        }
        w += matched > 0 ? matched : 1;
      }
    }
  }

  void note_gender(std::size_t person, const std::string& honorific_fold) {
    if (feminine_honorific(honorific_fold)) gender_[person] = Gender::kFemale;
    if (masculine_honorific(honorific_fold)) gender_[person] = Gender::kMale;
  }

  // Tokens [from, to) of a unit around a quotation: up to the sentence's end or another quotation.
  struct Window {
    std::size_t unit = 0, from = 0, to = 0;
  };

  std::optional<Quote> read(std::size_t u, const Span& span) {
    const UnitView& unit = units_[u];
    const std::string text = util::fold_spaces(util::trim(
        unit.text.substr(unit.tokens[span.open].end, unit.tokens[span.close].begin - unit.tokens[span.open].end)));
    std::size_t words = 0;
    for (std::size_t i = span.open + 1; i < span.close; ++i) words += unit.tokens[i].word ? 1 : 0;
    if (words < kMinQuoteWords) return std::nullopt;

    // After the closing mark: "», a déclaré Mme X." Before the opening one: "X a affirmé que «".
    Window after{u, span.close + 1, span.close + 1};
    while (after.to < unit.tokens.size() && !unit.quoted[after.to] && !sentence_end(unit.tokens, after.to)) ++after.to;
    Window before{u, span.open, span.open};
    while (before.from > 0 && !unit.quoted[before.from - 1] && !sentence_end(unit.tokens, before.from - 1))
      --before.from;
    // The next sentence: "« … ». C'est ce qu'a déclaré X."
    Window next{u, after.to + 1, after.to + 1};
    if (after.to < unit.tokens.size() && !unit.quoted[after.to]) {
      while (next.to < unit.tokens.size() && !unit.quoted[next.to] && !sentence_end(unit.tokens, next.to)) ++next.to;
    }
    // A paragraph that opens with the quotation: the previous one may end "X a déclaré :".
    Window previous{kNoIndex, 0, 0};
    if (span.open == 0 && u > 0 && !units_[u - 1].tokens.empty() && is_mark(units_[u - 1].tokens.back(), ":")) {
      const UnitView& p = units_[u - 1];
      previous = {u - 1, p.tokens.size(), p.tokens.size()};
      while (previous.from > 0 && !p.quoted[previous.from - 1] && !sentence_end(p.tokens, previous.from - 1))
        --previous.from;
    }
    const std::pair<Window, bool> windows[] = {{after, true}, {before, false}, {previous, false}, {next, true}};
    for (const auto& [w, forward] : windows) {
      if (w.unit == kNoIndex) continue;
      const std::size_t cue = forward ? cue_after(w) : cue_before(w);
      if (cue == kNoIndex) continue;
      Quote q;
      q.text = text;
      q.speaker = speaker(w, cue, u, span);
      return q;
    }
    return std::nullopt;
  }

  bool cue_at(const UnitView& unit, std::size_t i) const {
    const Token& t = unit.tokens[i];
    if (!t.word) return false;
    if (attribution_word(t.fold)) return true;
    // "souligne-t-il", "d'après"
    if (t.fold.find(' ') != std::string::npos && attribution_word(t.fold.substr(0, t.fold.find(' ')))) return true;
    return t.fold == "apres" && i > 0 && unit.tokens[i - 1].elided && unit.tokens[i - 1].fold == "d";
  }

  // Lower-case words that are neither function words nor part of a role: more than kMaxGapWords between
  // the verb and the marks means the verb speaks of something else ("a déclaré que le pays poursuivra le
  // programme « … »").
  bool close_enough(const UnitView& unit, std::size_t from, std::size_t to) const {
    std::size_t content = 0, role_until = 0;
    for (std::size_t i = from; i < to; ++i) {
      const Token& t = unit.tokens[i];
      if (t.role_words > 0) role_until = std::max(role_until, i + t.role_words);
      if (!t.word || t.capital || i < role_until || t.role_word || entities::is_function_word(t.fold)) continue;
      if (++content > kMaxGapWords) return false;
    }
    return true;
  }

  bool names_someone(const Window& w) const {
    return std::any_of(mentions_.begin(), mentions_.end(), [&](const SpeakerMention& m) {
      return m.unit == w.unit && m.token >= w.from && m.token < w.to;
    });
  }

  // The attribution verb nearest after a closing mark, or kNoIndex.
  std::size_t cue_after(const Window& w) const {
    const UnitView& unit = units_[w.unit];
    for (std::size_t i = w.from; i < w.to && i < unit.tokens.size(); ++i) {
      if (cue_at(unit, i)) return close_enough(unit, w.from, i) ? i : kNoIndex;
    }
    return kNoIndex;
  }

  // The attribution verb nearest before an opening mark; "X : «" with X a person counts as one.
  std::size_t cue_before(const Window& w) const {
    const UnitView& unit = units_[w.unit];
    if (w.to == w.from) return kNoIndex;
    for (std::size_t i = w.to; i-- > w.from;) {
      if (cue_at(unit, i)) return close_enough(unit, i + 1, w.to) ? i : kNoIndex;
    }
    if (is_mark(unit.tokens[w.to - 1], ":") && names_someone(w)) return w.to - 1;
    return kNoIndex;
  }

  std::optional<std::string> speaker(const Window& w, std::size_t cue, std::size_t quote_unit, const Span& span) const {
    // A person named in the window, the nearest to the verb.
    const SpeakerMention* best = nullptr;
    std::size_t best_distance = kNoIndex;
    for (const SpeakerMention& m : mentions_) {
      if (m.unit != w.unit || m.token < w.from || m.token >= w.to) continue;
      const std::size_t distance = m.token > cue ? m.token - cue : cue - m.token;
      if (distance < best_distance) best = &m, best_distance = distance;
    }
    if (best) return entities_.persons[best->person].name;
    const UnitView& unit = units_[w.unit];
    for (std::size_t i = w.from; i < w.to && i < unit.tokens.size(); ++i) {
      const Token& t = unit.tokens[i];
      if (!t.word) continue;
      // "il a déclaré", "a-t-elle souligné", "selon lui"
      Gender g = pronoun_gender(t.fold);
      if (g == Gender::kUnknown && t.fold.size() > 2) {
        const std::size_t last = t.fold.rfind(' ');
        if (last != std::string::npos && t.fold.find(" t ") != std::string::npos)
          g = pronoun_gender(t.fold.substr(last + 1));
      }
      if (g != Gender::kUnknown)
        return nearest_before(quote_unit, span.open, [&](std::size_t p) {
          return gender_[p] != (g == Gender::kMale ? Gender::kFemale : Gender::kMale);
        });
      // "a souligné le ministre": the one person with that role, else the nearest who has it.
      const std::size_t n = t.role_words > 0 ? t.role_words : (t.role_word ? 1 : 0);
      if (n == 0 || i == 0 || !unit.tokens[i - 1].word ||
          !(unit.tokens[i - 1].fold == "le" || unit.tokens[i - 1].fold == "la" || unit.tokens[i - 1].fold == "l" ||
            unit.tokens[i - 1].fold == "the"))
        continue;
      std::string role;
      for (std::size_t k = i; k < i + n && k < unit.tokens.size(); ++k)
        role += (role.empty() ? "" : " ") + unit.tokens[k].fold;
      auto has_role = [&](std::size_t p) {
        return std::any_of(entities_.persons[p].roles.begin(), entities_.persons[p].roles.end(),
                           [&](const std::string& r) {
                             return (" " + entity_fold(r) + " ").find(" " + role + " ") != std::string::npos;
                           });
      };
      std::size_t holders = 0, holder = 0;
      for (std::size_t p = 0; p < entities_.persons.size(); ++p) {
        if (has_role(p)) ++holders, holder = p;
      }
      if (holders == 1) return entities_.persons[holder].name;
      if (holders > 1) return nearest_before(quote_unit, span.open, has_role);
    }
    return std::nullopt;
  }

  template <class Accept>
  std::optional<std::string> nearest_before(std::size_t u, std::size_t token, Accept accept) const {
    for (auto m = mentions_.rbegin(); m != mentions_.rend(); ++m) {
      if (m->unit > u || (m->unit == u && m->token >= token)) continue;
      if (accept(m->person)) return entities_.persons[m->person].name;
    }
    return std::nullopt;
  }

  const Entities& entities_;
  std::vector<UnitView> units_;
  std::vector<SpeakerMention> mentions_;
  std::vector<Gender> gender_;
};

}  // namespace

std::vector<Quote> extract_quotes(const ArticleTokens& tokens, const Entities& entities) {
  return QuoteFinder(tokens, entities).run();
}

std::vector<Quote> extract_quotes(const Article& article, const Entities& entities) {
  return extract_quotes(tokenize_article(article), entities);
}

nlohmann::json quotes_to_json(const std::vector<Quote>& quotes) {
  nlohmann::json out = nlohmann::json::array();
  for (const Quote& q : quotes) {
    out.push_back({{"speaker", q.speaker ? nlohmann::json(*q.speaker) : nlohmann::json(nullptr)}, {"text", q.text}});
  }
  return out;
}

}  // namespace vnawire::extract
