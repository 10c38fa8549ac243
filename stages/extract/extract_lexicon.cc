// A Hunspell word list (stems and suffix rules) answering "is this a word form?", loaded once.
#include "stages/extract/extract_lexicon.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

// Closed-class words per language: the glued-word repair trusts these most ("dela" is "de la").
const std::unordered_set<std::string> kFrenchFunctionWords = {
    "a",     "à",     "y",     "au",     "aux",     "de",     "des",   "du",   "la",    "le",    "les",   "un",
    "une",   "et",    "ou",    "en",     "sa",      "son",    "ses",   "ce",   "ces",   "cet",   "cette", "se",
    "ne",    "que",   "qui",   "leur",   "leurs",   "par",    "pour",  "sur",  "sous",  "dans",  "avec",  "afin",
    "plus",  "très",  "est",   "sont",   "ont",     "il",     "elle",  "ils",  "elles", "on",    "nous",  "vous",
    "deux",  "trois", "mais",  "donc",   "car",     "ni",     "entre", "vers", "chez",  "selon", "dont",  "lors",
    "tout",  "tous",  "toute", "toutes", "notre",   "nos",    "votre", "vos",  "pas",   "sans",  "comme", "aussi",
    "ainsi", "après", "avant", "depuis", "pendant", "contre", "été",   "être"};
const std::unordered_set<std::string> kEnglishFunctionWords = {
    "a",     "an",   "the",   "of",    "to",    "in",   "on",    "at",  "by",   "for",  "with", "and", "or",
    "as",    "is",   "are",   "was",   "were",  "be",   "been",  "has", "have", "had",  "its",  "his", "her",
    "their", "this", "that",  "these", "those", "from", "into",  "but", "not",  "it",   "he",   "she", "they",
    "we",    "two",  "three", "more",  "most",  "also", "which", "who", "will", "would"};
const std::unordered_set<std::string> kSpanishFunctionWords = {
    "a",  "al",  "de", "del", "el",  "la",   "las",  "los",   "un",    "una", "unos", "unas", "y",
    "e",  "o",   "u",  "en",  "con", "por",  "para", "que",   "se",    "su",  "sus",  "es",   "son",
    "ha", "han", "lo", "le",  "les", "como", "más",  "entre", "sobre", "dos", "tres"};

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::unique_ptr<Lexicon> Lexicon::load_files(const std::string& dic_path, const std::string& aff_path,
                                             std::string_view language) {
  std::string dic;
  std::string aff;
  if (!read_file(dic_path, dic)) return nullptr;
  if (!read_file(aff_path, aff)) aff.clear();
  return from_strings(dic, aff, language);
}

std::unique_ptr<Lexicon> Lexicon::from_strings(std::string_view dic, std::string_view aff, std::string_view language) {
  try {
    auto lex = std::unique_ptr<Lexicon>(new Lexicon());
    static std::atomic<std::uint64_t> next_id{1};
    lex->id_ = next_id++;
    lex->language_ = std::string(language);
    if (language == "fr") lex->function_words_ = &kFrenchFunctionWords;
    if (language == "en") lex->function_words_ = &kEnglishFunctionWords;
    if (language == "es") lex->function_words_ = &kSpanishFunctionWords;
    lex->parse_aff(aff);
    lex->parse_dic(dic);
    if (lex->stems_.empty()) return nullptr;
    return lex;
  } catch (...) {
    return nullptr;  // out of memory or a pathological file: behave as if no dictionary
  }
}

char32_t Lexicon::parse_one_flag(std::string_view s, std::size_t& i) const {
  switch (flag_mode_) {
    case FlagMode::kLong: {
      const auto a = static_cast<unsigned char>(s[i++]);
      const auto b = i < s.size() ? static_cast<unsigned char>(s[i++]) : 0;
      return (static_cast<char32_t>(a) << 8) | b;
    }
    case FlagMode::kNum: {
      char32_t v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + static_cast<char32_t>(s[i++] - '0');
      if (i < s.size() && s[i] == ',') ++i;
      return v;
    }
    case FlagMode::kUtf8:
      return util::next_code_point(s, i);
    case FlagMode::kChar:
      break;
  }
  return static_cast<unsigned char>(s[i++]);
}

std::u32string Lexicon::parse_flags(std::string_view s) const {
  // With AF aliases, a flag field is the 1-based number of a flag set.
  if (!aliases_.empty() && !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos) {
    const std::size_t n = static_cast<std::size_t>(std::strtoul(std::string(s).c_str(), nullptr, 10));
    return n >= 1 && n <= aliases_.size() ? aliases_[n - 1] : std::u32string();
  }
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) out += parse_one_flag(s, i);
  return out;
}

void Lexicon::parse_aff(std::string_view aff) {
  std::vector<std::pair<std::string, std::string>> special;  // NEEDAFFIX & co. may come before FLAG
  std::unordered_map<char32_t, bool> cross;                  // cross-product permission per flag
  for (const std::string_view raw : util::split_lines(aff)) {
    const auto f = fields(raw);
    if (f.empty() || f[0].front() == '#') continue;
    if (f[0] == "FLAG" && f.size() >= 2) {
      if (f[1] == "long") flag_mode_ = FlagMode::kLong;
      if (f[1] == "num") flag_mode_ = FlagMode::kNum;
      if (f[1] == "UTF-8") flag_mode_ = FlagMode::kUtf8;
    } else if ((f[0] == "NEEDAFFIX" || f[0] == "FORBIDDENWORD") && f.size() >= 2) {
      special.emplace_back(std::string(f[0]), std::string(f[1]));
    } else if (f[0] == "AF" && f.size() >= 2 && f[1].find_first_not_of("0123456789") != std::string_view::npos) {
      aliases_.push_back(parse_flags(f[1]));
    } else if ((f[0] == "SFX" || f[0] == "PFX") && f.size() >= 5) {
      const bool suffix = f[0] == "SFX";
      AffixRule rule;
      std::size_t k = 0;
      rule.flag = parse_one_flag(f[1], k);
      rule.cross = cross[rule.flag];
      rule.strip = f[2] == "0" ? std::string() : std::string(f[2]);
      std::string_view add = f[3];
      if (const auto slash = add.find('/'); slash != std::string_view::npos) add = add.substr(0, slash);
      if (add == "0") add = {};
      // The condition is a tiny regex over the root's end (suffix) or start (prefix): literals, '.',
      // [set] and [^set].
      const std::u32string cond = util::to_u32(f[4]);
      for (std::size_t i = 0; i < cond.size(); ++i) {
        CondElem elem;
        if (cond[i] == U'.') {
          elem.any = true;
        } else if (cond[i] == U'[') {
          std::size_t j = i + 1;
          if (j < cond.size() && cond[j] == U'^') elem.negate = true, ++j;
          while (j < cond.size() && cond[j] != U']') elem.chars += cond[j++];
          i = j;
        } else {
          elem.chars = cond[i];
        }
        rule.condition.push_back(std::move(elem));
      }
      if (rule.condition.size() == 1 && rule.condition[0].any) rule.condition.clear();
      std::size_t& max = suffix ? max_suffix_bytes_ : max_prefix_bytes_;
      max = std::max(max, add.size());
      (suffix ? suffixes_ : prefixes_)[std::string(add)].push_back(std::move(rule));
    } else if ((f[0] == "SFX" || f[0] == "PFX") && f.size() == 4) {
      std::size_t k = 0;
      cross[parse_one_flag(f[1], k)] = f[2] == "Y";  // the rule group's header
    }
  }
  for (const auto& [key, value] : special) {
    std::size_t i = 0;
    const char32_t flag = parse_one_flag(value, i);
    (key == "NEEDAFFIX" ? need_affix_ : forbidden_) = flag;
  }
}

void Lexicon::parse_dic(std::string_view dic) {
  bool first = true;
  for (const std::string_view raw : util::split_lines(dic)) {
    const std::string_view line = util::trim(raw);
    if (line.empty()) continue;
    if (first) {
      first = false;
      if (line.find_first_not_of("0123456789") == std::string_view::npos) continue;  // entry count
    }
    // "word/FLAGS morphology…": a tab or space ends the word; "\/" would escape a slash.
    std::size_t end = 0;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    const std::string_view entry = line.substr(0, end);
    std::size_t slash = std::string_view::npos;
    for (std::size_t i = 1; i < entry.size(); ++i) {
      if (entry[i] == '/' && entry[i - 1] != '\\') {
        slash = i;
        break;
      }
    }
    std::string word(entry.substr(0, slash));
    if (word.empty()) continue;
    std::u32string flags = slash == std::string_view::npos ? std::u32string() : parse_flags(entry.substr(slash + 1));
    stems_[std::move(word)] += flags;
  }
}

bool Lexicon::condition_matches(const std::vector<CondElem>& cond, std::string_view root, bool at_end) {
  if (cond.empty()) return true;
  // Decode only the code points the condition covers, in place: this runs for every rule tried.
  auto matches = [](const CondElem& e, char32_t c) {
    return e.any || (e.chars.find(c) != std::u32string::npos) != e.negate;
  };
  if (at_end) {
    std::size_t end = root.size();
    for (std::size_t n = cond.size(); n-- > 0;) {
      if (end == 0) return false;
      std::size_t start = end - 1;
      while (start > 0 && (static_cast<unsigned char>(root[start]) & 0xC0) == 0x80) --start;
      std::size_t i = start;
      if (!matches(cond[n], util::next_code_point(root, i))) return false;
      end = start;
    }
    return true;
  }
  std::size_t i = 0;
  for (const CondElem& e : cond) {
    if (i >= root.size() || !matches(e, util::next_code_point(root, i))) return false;
  }
  return true;
}

bool Lexicon::stem_has(std::string_view stem, char32_t flag, char32_t also) const {
  const auto it = stems_.find(stem);
  if (it == stems_.end()) return false;
  const std::u32string& flags = it->second;
  if (flags.find(flag) == std::u32string::npos) return false;
  if (also != 0 && flags.find(also) == std::u32string::npos) return false;
  return forbidden_ == 0 || flags.find(forbidden_) == std::u32string::npos;
}

// Undoes one suffix rule: for each ending `w` has, every rule adding that ending gives a root that
// must be a stem carrying the rule's flag (and `prefix_flag` too when a prefix was undone first).
bool Lexicon::suffixed(std::string_view w, char32_t prefix_flag) const {
  std::string root;
  const std::size_t max_len = std::min(max_suffix_bytes_, w.size());
  for (std::size_t len = 0; len <= max_len; ++len) {
    const std::size_t cut = w.size() - len;
    if (cut < w.size() && (static_cast<unsigned char>(w[cut]) & 0xC0) == 0x80) continue;
    const auto rules = suffixes_.find(w.substr(cut));
    if (rules == suffixes_.end()) continue;
    // Rules that strip nothing all give the same root: ask for it once.
    const std::string_view bare = w.substr(0, cut);
    const bool bare_is_stem = cut > 0 && stems_.find(bare) != stems_.end();
    for (const AffixRule& rule : rules->second) {
      if ((cut == 0 && rule.strip.empty()) || (prefix_flag != 0 && !rule.cross)) continue;
      if (rule.strip.empty() && !bare_is_stem) continue;
      root.assign(bare);
      root += rule.strip;
      if (condition_matches(rule.condition, root, true) && stem_has(root, rule.flag, prefix_flag)) return true;
    }
  }
  return false;
}

bool Lexicon::contains(std::string_view word) const {
  if (word.empty()) return false;
  // The same words come back in every dispatch ("de", "gouvernement") and the glued-word search
  // asks for the same pieces many times: answers are remembered per thread, so no lock is taken.
  // The memo is dropped whole when it grows past a bound, which keeps a stream of names in check.
  struct Memo {
    std::uint64_t lexicon = 0;
    WordMap<bool> known;
  };
  constexpr std::size_t kMaxMemo = 1u << 17;
  thread_local std::vector<Memo> memos;
  Memo* memo = nullptr;
  for (Memo& m : memos) {
    if (m.lexicon == id_) memo = &m;
  }
  if (memo == nullptr) {
    if (memos.size() >= 8) memos.clear();  // lexicons made and dropped (tests): forget the old ones
    memo = &memos.emplace_back(Memo{id_, {}});
  }
  if (const auto it = memo->known.find(word); it != memo->known.end()) return it->second;
  const bool answer = contains_uncached(word);
  if (memo->known.size() >= kMaxMemo) memo->known.clear();
  memo->known.emplace(std::string(word), answer);
  return answer;
}

bool Lexicon::contains_uncached(std::string_view w) const {
  if (const auto it = stems_.find(w); it != stems_.end()) {
    const std::u32string& flags = it->second;
    const bool needs_affix = need_affix_ != 0 && flags.find(need_affix_) != std::u32string::npos;
    const bool forbidden = forbidden_ != 0 && flags.find(forbidden_) != std::u32string::npos;
    if (forbidden) return false;
    if (!needs_affix) return true;
  }
  if (suffixed(w, 0)) return true;
  // Undo one prefix rule, then accept the root as a stem with the prefix's flag, or as a suffixed
  // form when both rules allow the cross product ("in|accurate", "re|invest|ed").
  std::string root;
  const std::size_t max_len = std::min(max_prefix_bytes_, w.size());
  for (std::size_t len = 0; len <= max_len; ++len) {
    if (len < w.size() && (static_cast<unsigned char>(w[len]) & 0xC0) == 0x80) continue;
    const auto rules = prefixes_.find(w.substr(0, len));
    if (rules == prefixes_.end()) continue;
    for (const AffixRule& rule : rules->second) {
      if (len == w.size() && rule.strip.empty()) continue;
      root = rule.strip;
      root.append(w.substr(len));
      if (!condition_matches(rule.condition, root, false)) continue;
      if (stem_has(root, rule.flag, 0) || (rule.cross && suffixed(root, rule.flag))) return true;
    }
  }
  return false;
}

bool Lexicon::contains_any_case(std::string_view word) const {
  if (contains(word)) return true;
  const std::u32string u = util::to_u32(word);
  if (u.empty() || !util::is_upper(u[0])) return false;
  std::u32string low = u;
  low[0] = util::lower(low[0]);
  if (contains(util::to_utf8(low))) return true;
  for (char32_t& c : low) c = util::lower(c);
  return contains(util::to_utf8(low));
}

bool Lexicon::is_ending(std::string_view piece) const { return suffixes_.find(piece) != suffixes_.end(); }

bool Lexicon::is_function_word(std::string_view lower_word) const {
  return function_words_ != nullptr && function_words_->count(std::string(lower_word)) != 0;
}

namespace {

std::unique_ptr<Lexicon> load_system(std::string_view language) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("VNAWIRE_HUNSPELL_DIR"); env != nullptr && *env != '\0') dirs.emplace_back(env);
  for (const char* d : {"/usr/share/hunspell", "/usr/share/myspell", "/usr/share/myspell/dicts"}) dirs.emplace_back(d);
  std::vector<std::string> names;
  if (language == "fr") names = {"fr_FR", "fr"};
  if (language == "en") names = {"en_US", "en_GB", "en"};
  if (language == "es") names = {"es_ES", "es"};
  for (const std::string& dir : dirs) {
    for (const std::string& name : names) {
      const std::string base = dir + "/" + name;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(base + ".dic", ec)) continue;
      if (auto lex = Lexicon::load_files(base + ".dic", base + ".aff", language)) return lex;
    }
  }
  return nullptr;
}

}  // namespace

const Lexicon* system_lexicon(std::string_view language) {
  // One load per language for the life of the process; function-local statics make it thread-safe.
  if (language == "fr") {
    static const std::unique_ptr<Lexicon> fr = load_system("fr");
    return fr.get();
  }
  if (language == "en") {
    static const std::unique_ptr<Lexicon> en = load_system("en");
    return en.get();
  }
  if (language == "es") {
    static const std::unique_ptr<Lexicon> es = load_system("es");
    return es.get();
  }
  return nullptr;
}

}  // namespace vnawire::extract
