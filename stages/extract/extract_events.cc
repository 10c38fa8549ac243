// Events: per sentence, a trigger phrase gives the type ("a effectué une visite", "s'est entretenu avec",
// "entretien téléphonique", "ont signé", "a participé au forum"); the persons named around it give the
// participants, a place named after it the place, and a date written in the sentence (else the dateline's)
// the start and end. The same event told in lead and body is kept once.
#include "stages/extract/extract_events.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>
#include <unordered_map>

#include "stages/extract/extract_article_tokens.h"
#include "stages/extract/extract_entity_tokens.h"
#include "stages/extract/extract_gazetteer.h"
#include "stages/extract/extract_word_hash.h"

namespace vnawire::extract {
namespace {

using entities::honorific;
using entities::kNoIndex;
using entities::sentence_end;
using entities::split_words;
using entities::Token;
using entities::Word;
using Phrase = std::vector<std::string>;

// Trigger phrases in folded words, French, English and Vietnamese.
const std::vector<Phrase>& visit_phrases() {
  static const std::vector<Phrase> k = {{"visite"},
                                        {"visites"},
                                        {"visit"},
                                        {"visits"},
                                        {"visited"},
                                        {"visiting"},
                                        {"est", "rendu"},
                                        {"est", "rendue"},
                                        {"se", "rend"},
                                        {"se", "rendra"},
                                        {"se", "rendre"},
                                        {"chuyen", "tham"},
                                        {"tham", "chinh", "thuc"},
                                        {"tham", "lam", "viec"},
                                        {"tham", "cap", "nha", "nuoc"}};
  return k;
}
const std::vector<Phrase>& meeting_phrases() {
  static const std::vector<Phrase> k = {{"recu"},
                                        {"recoit"},
                                        {"recevant"},
                                        {"reception"},
                                        {"entretien"},
                                        {"entretiens"},
                                        {"entretient"},
                                        {"entretenu"},
                                        {"entretenus"},
                                        {"entretenue"},
                                        {"rencontre"},
                                        {"rencontrent"},
                                        {"audience"},
                                        {"lettres", "de", "creance"},
                                        {"seance", "de", "travail"},
                                        {"seances", "de", "travail"},
                                        {"session", "de", "travail"},
                                        {"talks"},
                                        {"met"},
                                        {"meets"},
                                        {"received"},
                                        {"receives"},
                                        {"receiving"},
                                        {"credentials"},
                                        {"working", "session"},
                                        {"hoi", "dam"},
                                        {"hoi", "kien"},
                                        {"tiep"},
                                        {"gap"},
                                        {"gap", "go"}};
  return k;
}
const std::vector<Phrase>& phone_phrases() {
  static const std::vector<Phrase> k = {{"telephonique"}, {"telephoniques"}, {"au", "telephone"},
                                        {"phone"},        {"telephone"},     {"dien", "dam"}};
  return k;
}
const std::vector<Phrase>& agreement_phrases() {
  static const std::vector<Phrase> k = {{"signe"}, {"signent"}, {"signeront"}, {"signature"}, {"signed"},
                                        {"signs"}, {"signing"}, {"ky", "ket"}, {"da", "ky"}};
  return k;
}
const std::vector<Phrase>& conference_phrases() {
  static const std::vector<Phrase> k = {{"forum"},      {"conference"},  {"sommet"},         {"summit"},
                                        {"congres"},    {"congress"},    {"colloque"},       {"seminaire"},
                                        {"seminar"},    {"symposium"},   {"table", "ronde"}, {"round", "table"},
                                        {"roundtable"}, {"hoi", "nghi"}, {"dien", "dan"},    {"hoi", "thao"}};
  return k;
}
// A conference is an event of the dispatch only when someone takes part in it.
const std::vector<Phrase>& attendance_phrases() {
  static const std::vector<Phrase> k = {
      {"participe"}, {"participera"}, {"participant"}, {"assiste"},           {"assistera"},   {"pris", "part"},
      {"preside"},   {"copreside"},   {"attended"},    {"attends"},           {"attending"},   {"took", "part"},
      {"chaired"},   {"addressed"},   {"tham", "du"},  {"du", "hoi", "nghi"}, {"phat", "bieu"}};
  return k;
}

struct Sentence {
  std::string_view text;          // of the whole unit
  std::span<const Token> tokens;  // of the whole unit, shared (ArticleTokens)
  std::span<const Word> words;    // of the whole unit, shared
  std::size_t from = 0, to = 0;   // words [from, to)
};

struct Trigger {
  std::string type;
  std::size_t word = 0;  // first word of the phrase
};

// Named forms (folded words) to find in the text, longest first, each with its index.
using Forms = std::vector<std::pair<std::vector<std::string>, std::size_t>>;

template <class Named>
Forms forms_of(const std::vector<Named>& named) {
  Forms forms;
  for (std::size_t i = 0; i < named.size(); ++i) {
    std::vector<std::string> all = named[i].aliases;
    all.push_back(named[i].name);
    for (const std::string& form : all) {
      std::vector<std::string> words = split_words(entity_fold(form));
      if (!words.empty() && honorific(words.front())) words.erase(words.begin());
      if (!words.empty()) forms.emplace_back(std::move(words), i);
    }
  }
  std::stable_sort(forms.begin(), forms.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return forms;
}

struct NameMention {
  std::size_t word = 0, index = 0;
};

std::vector<NameMention> find_mentions(const Sentence& s, const Forms& forms) {
  std::vector<NameMention> found;
  for (std::size_t w = s.from; w < s.to;) {
    std::size_t matched = 0;
    for (const auto& [words, index] : forms) {
      if (w + words.size() > s.to) continue;
      bool same = s.tokens[s.words[w].token].capital;
      for (std::size_t k = 0; k < words.size() && same; ++k) same = s.words[w + k].fold == words[k];
      if (!same) continue;
      found.push_back({w, index});
      matched = words.size();
      break;
    }
    w += matched > 0 ? matched : 1;
  }
  return found;
}

bool phrase_at(const Sentence& s, std::size_t w, const Phrase& p) {
  if (w + p.size() > s.to) return false;
  for (std::size_t k = 0; k < p.size(); ++k) {
    if (s.words[w + k].fold != p[k]) return false;
  }
  return true;
}

// The trigger lists, one bit each in a word's PhraseKinds.
enum PhraseKind : unsigned { kVisit = 1, kMeeting = 2, kPhone = 4, kAgreement = 8, kConference = 16, kAttendance = 32 };
using PhraseKinds = unsigned;

// Every trigger phrase by its first word: one look-up per word instead of a comparison with each phrase.
struct PhraseIndex {
  std::unordered_map<std::string_view, std::vector<std::pair<PhraseKind, const Phrase*>>, WordHash> by_first_word;
  KeyShapes first_word_shapes;  // most words are turned away without a look-up
};

const PhraseIndex& phrases_by_first_word() {
  static const auto k = [] {
    PhraseIndex index;
    const std::pair<PhraseKind, const std::vector<Phrase>*> lists[] = {
        {kVisit, &visit_phrases()},         {kMeeting, &meeting_phrases()},       {kPhone, &phone_phrases()},
        {kAgreement, &agreement_phrases()}, {kConference, &conference_phrases()}, {kAttendance, &attendance_phrases()}};
    for (const auto& [kind, phrases] : lists) {
      for (const Phrase& p : *phrases) {
        index.by_first_word[p.front()].emplace_back(kind, &p);
        index.first_word_shapes.add(p.front());
      }
    }
    return index;
  }();
  return k;
}

// Per word of the sentence (from s.from): the kinds of the trigger phrases that start there.
std::vector<PhraseKinds> phrase_kinds(const Sentence& s) {
  const auto& index = phrases_by_first_word();
  std::vector<PhraseKinds> kinds(s.to - s.from, 0);
  for (std::size_t w = s.from; w < s.to; ++w) {
    if (!index.first_word_shapes.may_hold(s.words[w].fold)) continue;
    const auto it = index.by_first_word.find(s.words[w].fold);
    if (it == index.by_first_word.end()) continue;
    for (const auto& [kind, phrase] : it->second) {
      if (phrase_at(s, w, *phrase)) kinds[w - s.from] |= kind;
    }
  }
  return kinds;
}

// The triggers of a sentence in text order, one per type (its first): a phone call's "entretien" is not
// also a meeting, a conference nobody attends is no event.
std::vector<Trigger> find_triggers(const Sentence& s) {
  const std::vector<PhraseKinds> kinds = phrase_kinds(s);
  const auto sentence_has = [&kinds](PhraseKind kind) {
    return std::any_of(kinds.begin(), kinds.end(), [kind](PhraseKinds k) { return (k & kind) != 0; });
  };
  const bool phone = sentence_has(kPhone);
  const bool attended = sentence_has(kAttendance);
  std::vector<Trigger> triggers;
  auto add = [&](const char* type, std::size_t w) {
    if (std::none_of(triggers.begin(), triggers.end(), [&](const Trigger& t) { return t.type == type; }))
      triggers.push_back({type, w});
  };
  for (std::size_t w = s.from; w < s.to; ++w) {
    const PhraseKinds here = kinds[w - s.from];
    if (here == 0) continue;
    // A capitalised trigger word names something ("Forum économique", "Conférence consultative").
    const bool lower = !s.tokens[s.words[w].token].capital || w == s.from;
    if (phone && (here & kPhone) != 0) add("phone_call", w);
    // Vietnamese "tiếp" receives, "tiếp tục" continues.
    else if (!phone && (here & kMeeting) != 0 &&
             !(s.words[w].fold == "tiep" && w + 1 < s.to && s.words[w + 1].fold == "tuc"))
      add("meeting", w);
    else if ((here & kVisit) != 0)
      add("visit", w);
    else if ((here & kAgreement) != 0)
      add("agreement", w);
    else if (attended && lower && (here & kConference) != 0)
      add("conference", w);
  }
  return triggers;
}

std::string cameo_of(const std::string& type) {
  if (type == "visit") return "042";       // Make a visit
  if (type == "meeting") return "040";     // Consult
  if (type == "phone_call") return "041";  // Discuss by telephone
  if (type == "agreement") return "057";   // Sign formal agreement
  return "044";                            // Meet at a "third" location: a conference
}

bool overlaps(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(),
                     [&](const std::string& x) { return std::find(b.begin(), b.end(), x) != b.end(); });
}

bool same_event(const Event& a, const Event& b) {
  if (a.type != b.type) return false;
  if (a.type == "meeting" || a.type == "phone_call") {
    std::vector<std::string> x = a.participants, y = b.participants;
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    return x == y;
  }
  return overlaps(a.participants, b.participants);
}

class EventFinder {
 public:
  EventFinder(const Article& article, const ArticleTokens& tokens, const Entities& entities)
      : article_(article),
        tokens_(tokens),
        entities_(entities),
        persons_(forms_of(entities.persons)),
        places_(forms_of(entities.places)) {}

  std::vector<Event> run() {
    // Title, lead (even when it repeats the first paragraph) and body; not the captions.
    std::vector<const entities::Unit*> units;
    if (tokens_.title != ArticleTokens::kAbsent) units.push_back(&tokens_.units[tokens_.title]);
    if (tokens_.lead != ArticleTokens::kAbsent) units.push_back(&tokens_.units[tokens_.lead]);
    for (std::size_t u = tokens_.body; u < tokens_.captions; ++u) units.push_back(&tokens_.units[u]);
    for (const entities::Unit* unit : units) {
      Sentence s;
      s.text = unit->text;
      s.tokens = unit->tokens;
      s.words = unit->words;
      std::vector<std::size_t> ends;  // word index where each sentence ends
      for (std::size_t i = 0, w = 0; i < s.tokens.size(); ++i) {
        while (w < s.words.size() && s.words[w].token < i) ++w;
        if (!s.tokens[i].word && sentence_end(s.tokens, i)) ends.push_back(w);
      }
      ends.push_back(s.words.size());
      std::size_t from = 0;
      for (std::size_t end : ends) {
        if (end > from) {
          s.from = from;
          s.to = end;
          read(s);
        }
        from = end;
      }
    }
    return std::move(events_);
  }

 private:
  void read(const Sentence& s) {
    const std::vector<NameMention> people = find_mentions(s, persons_);
    const std::vector<Trigger> triggers = find_triggers(s);
    if (protagonist_ == kNoIndex && !people.empty()) protagonist_ = people.front().index;
    for (std::size_t t = 0; t < triggers.size(); ++t) {
      const Trigger& trigger = triggers[t];
      const std::size_t next = t + 1 < triggers.size() ? triggers[t + 1].word : s.to;
      std::vector<std::size_t> before, after;
      for (const NameMention& m : people) {
        if (m.word < trigger.word)
          before.push_back(m.index);
        else if (m.word < next)
          after.push_back(m.index);
      }
      if (trigger.type == "meeting" || trigger.type == "phone_call") {
        // The subject and each person met: "X a reçu Y", "sa séance de travail avec Y", "X et Y ont eu un entretien".
        std::size_t subject = !before.empty() ? before.front() : protagonist_;
        std::vector<std::size_t> others = after;
        if (others.empty() && before.size() > 1) others.assign(before.begin() + 1, before.end());
        if (subject == kNoIndex) continue;
        for (std::size_t other : others) {
          if (other != subject) add(s, trigger, {subject, other});
        }
        protagonist_ = subject;
      } else if (trigger.type == "visit") {
        // The visitor is named before the word ("X, en visite officielle"); a visit of no one named is the
        // dispatch's background ("un navire pour une visite").
        if (before.empty()) continue;
        add(s, trigger, {before.back()});
        protagonist_ = before.back();
      } else {
        std::vector<std::size_t> who = before;
        who.insert(who.end(), after.begin(), after.end());
        if (who.empty() && trigger.type == "conference" && protagonist_ != kNoIndex) who.push_back(protagonist_);
        if (who.empty()) continue;
        add(s, trigger, who);
      }
    }
  }

  void add(const Sentence& s, const Trigger& trigger, const std::vector<std::size_t>& who) {
    Event e;
    e.type = trigger.type;
    for (std::size_t p : who) {
      const std::string& name = entities_.persons[p].name;
      if (std::find(e.participants.begin(), e.participants.end(), name) == e.participants.end())
        e.participants.push_back(name);
    }
    e.cameo = cameo_of(e.type);
    // The place: one named after the trigger, else the dateline's.
    for (const NameMention& m : find_mentions(s, places_)) {
      if (m.word > trigger.word) {
        e.place = entities_.places[m.index].name;
        break;
      }
    }
    if (!e.place && article_.dateline) e.place = article_.dateline->place;
    // The date: the first written after the trigger, else the nearest before, else the dateline's.
    const std::size_t begin = s.tokens[s.words[s.from].token].begin;
    const std::size_t end = s.tokens[s.words[s.to - 1].token].end;
    const std::string_view text = s.text.substr(begin, end - begin);
    const std::size_t at = s.tokens[s.words[trigger.word].token].begin - begin;
    std::optional<std::string> date;
    std::size_t searched = 0;
    for (const DateMention& d : find_dates(text, article_.published)) {
      const std::size_t pos = text.find(d.text, searched);
      if (pos == std::string_view::npos) continue;
      searched = pos + d.text.size();
      date = d.edtf;
      if (pos >= at) break;
    }
    if (!date && article_.dateline) date = article_.dateline->date;
    if (date) {
      const std::size_t slash = date->find('/');
      e.start = date->substr(0, slash);
      if (slash != std::string::npos) e.end = date->substr(slash + 1);
    }
    for (Event& known : events_) {
      if (!same_event(known, e)) continue;
      for (const std::string& p : e.participants) {
        if (std::find(known.participants.begin(), known.participants.end(), p) == known.participants.end())
          known.participants.push_back(p);
      }
      if (!known.place) known.place = e.place;
      if (!known.start) known.start = e.start, known.end = e.end;
      return;
    }
    events_.push_back(std::move(e));
  }

  const Article& article_;
  const ArticleTokens& tokens_;
  const Entities& entities_;
  Forms persons_, places_;
  std::size_t protagonist_ = kNoIndex;  // who a sentence without a named subject speaks of ("Elle a rencontré")
  std::vector<Event> events_;
};

}  // namespace

std::vector<Event> extract_events(const Article& article, const ArticleTokens& tokens, const Entities& entities) {
  return EventFinder(article, tokens, entities).run();
}

std::vector<Event> extract_events(const Article& article, const Entities& entities) {
  return extract_events(article, tokenize_article(article), entities);
}

nlohmann::json events_to_json(const std::vector<Event>& events) {
  auto nullable = [](const std::optional<std::string>& s) { return s ? nlohmann::json(*s) : nlohmann::json(nullptr); };
  nlohmann::json out = nlohmann::json::array();
  for (const Event& e : events) {
    out.push_back({{"type", e.type},
                   {"participants", e.participants},
                   {"place", nullable(e.place)},
                   {"start", nullable(e.start)},
                   {"end", nullable(e.end)},
                   {"cameo", e.cameo}});
  }
  return out;
}

}  // namespace vnawire::extract
