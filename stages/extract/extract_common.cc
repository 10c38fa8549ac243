// Pieces of dispatch layout shared by the text and HTML extractors: photo credits, the "-VNA"
// signature, "Voir plus" markers, and the final clean-up of an Article.
#include "stages/extract/extract_common.h"

#include <array>
#include <unordered_set>
#include <vector>

#include "stages/extract/extract_dates.h"
#include "stages/extract/extract_text_util.h"
#include "stages/extract/extract_wordsplit.h"
#include "stages/runtime/byte_scan.h"

namespace vnawire::extract {
namespace {

constexpr std::size_t kMaxRepairBytes = 512u << 10;

struct Label {
  std::string_view text;
  bool strict;  // "Source:" also opens ordinary sentences: then the credit must look like an agency
};
// Longest first, so "Photos" is not read as "Photo" + "s".
constexpr std::array<Label, 14> kLabels = {{{"Photos", false},
                                            {"Photo", false},
                                            {"Ảnh", false},
                                            {"Fotos", false},
                                            {"Foto", false},
                                            {"Image", false},
                                            {"Crédits", true},
                                            {"Crédit", true},
                                            {"Credits", true},
                                            {"Credit", true},
                                            {"Source", true},
                                            {"Nguồn", true},
                                            {"Fuente", true},
                                            {"Sources", true}}};

// "Photo d'illustration :", "Ảnh minh họa:", "Foto de archivo:": words allowed between label and colon.
bool allowed_qualifier(std::string_view q) {
  const std::string k = util::fold_key(q);
  static const std::unordered_set<std::string> kQualifiers = {
      "", "illustration", "archives", "archive", "minh hoa", "tu lieu", "de archivo", "ilustrativa", "file"};
  return kQualifiers.count(k) != 0 || util::starts_with(k, "d'") || util::starts_with(k, "d’");
}

bool all_caps_word(std::string_view tok) {
  std::size_t letters = 0;
  for (std::size_t i = 0; i < tok.size();) {
    const char32_t c = util::next_code_point(tok, i);
    if (util::is_lower(c)) return false;
    letters += util::is_letter(c) ? 1 : 0;
  }
  return letters >= 2;
}

bool agency_like(std::string_view tok) {
  static const std::unordered_set<std::string> kKnown = {"xinhua",   "reuters", "sputnik",    "tass",
                                                         "kyodo",    "yonhap",  "bernama",    "antara",
                                                         "internet", "getty",   "vietnamplus"};
  return all_caps_word(tok) || tok.find('/') != std::string_view::npos || tok.find('.') != std::string_view::npos ||
         kKnown.count(util::fold_key(tok)) != 0;
}

std::string_view strip_closers(std::string_view tok) {
  while (!tok.empty() && (tok.back() == ')' || tok.back() == '.' || tok.back() == ',' || tok.back() == ']')) {
    tok.remove_suffix(1);
  }
  return tok;
}

bool is_dash_at_end(std::string_view s, std::size_t& len) {
  for (const std::string_view d : {"-", "–", "—", "−"}) {
    if (util::ends_with(s, d)) {
      len = d.size();
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<Credit> find_credit(std::string_view line) {
  // A label starts the line or follows a space or an opening bracket: the positions after each space or
  // bracket are found sixteen bytes at a time, the others never looked at.
  const char* const end = line.data() + line.size();
  const auto next_start = [&](std::size_t p) {
    return static_cast<std::size_t>(runtime::find_byte_of(line.data() + p, end, ' ', '(', ' ') - line.data()) + 1;
  };
  for (std::size_t p = 0; p < line.size(); p = next_start(p)) {
    const bool paren = p > 0 && line[p - 1] == '(';
    // Every label starts with one of these capitals or "Ả" (0xE1 0xBA 0xA2); inside brackets, where case
    // is ignored, with either case of them or any non-ASCII letter. Other positions (most word starts) are
    // passed without trying the fourteen labels.
    const auto c = static_cast<unsigned char>(line[p]);
    if (!paren && c != 0xE1 && std::string_view("PFICSN").find(static_cast<char>(c)) == std::string_view::npos) {
      continue;
    }
    if (paren && c < 0x80 && std::string_view("PFICSNpficsn").find(static_cast<char>(c)) == std::string_view::npos) {
      continue;
    }
    for (const Label& label : kLabels) {
      std::string_view text = label.text;
      std::string lowered;
      if (paren) {  // "(photo: VNA)" may be lower case inside brackets
        lowered = util::to_lower(line.substr(p, text.size()));
        if (lowered != util::to_lower(text)) continue;
      } else if (line.compare(p, text.size(), text) != 0) {
        continue;
      }
      std::size_t q = p + text.size();
      if (q >= line.size() || (line[q] != ' ' && line[q] != ':')) continue;
      const std::size_t near = line.substr(q, 31).find(':');  // bounded: no rescans of long lines
      if (near == std::string_view::npos) continue;
      const std::size_t colon = q + near;
      if (!allowed_qualifier(util::trim(line.substr(q, colon - q)))) continue;
      // The credit proper: the first token, plus tokens up to one holding a slash ("Thanh Tung/VNA").
      std::vector<std::pair<std::size_t, std::size_t>> toks;
      for (std::size_t i = colon + 1; i < line.size() && toks.size() < 8;) {
        while (i < line.size() && line[i] == ' ') ++i;
        const std::size_t s = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > s) toks.emplace_back(s, i);
      }
      if (toks.empty()) continue;
      auto tok = [&](std::size_t k) { return line.substr(toks[k].first, toks[k].second - toks[k].first); };
      if (label.strict && !agency_like(strip_closers(tok(0)))) continue;
      std::size_t n = 1;
      while (n < toks.size() && n < 5) {
        bool take = tok(n).find('/') != std::string_view::npos || util::ends_with(tok(n - 1), "/");
        for (std::size_t k = n; !take && k < toks.size() && k < n + 2; ++k) {
          take = tok(k).find('/') != std::string_view::npos && !all_caps_word(tok(n)) &&
                 util::is_upper(util::to_u32(tok(n)).front());
        }
        if (!take || util::ends_with(tok(n - 1), ")")) break;
        ++n;
      }
      Credit credit;
      std::string_view caption = util::trim(line.substr(0, p));
      while (!caption.empty() && (caption.back() == '(' || caption.back() == ' ')) caption.remove_suffix(1);
      credit.caption = std::string(caption);
      if (n < toks.size()) {
        std::string_view rest = util::trim(line.substr(toks[n].first));
        const char32_t first = util::to_u32(rest).front();
        // Glued text after a credit starts a new sentence; lower case means it was still the credit.
        if (!util::is_lower(first)) credit.rest = std::string(rest);
      }
      return credit;
    }
  }
  return std::nullopt;
}

std::optional<std::string> strip_signature(std::string_view paragraph) {
  std::string_view s = util::trim(paragraph);
  // VNA's English and Vietnamese services close a dispatch with "./." instead of a name.
  if (util::ends_with(s, "./.")) return std::string(s.substr(0, s.size() - 2));
  if (s == "/.") return std::string();
  // Otherwise a dash and a credit in capitals: "-VNA", "- VNA", "–TTXVN", "- VNA/CVN", "-CVN".
  std::size_t start = s.size();
  while (start > 0 && ((s[start - 1] >= 'A' && s[start - 1] <= 'Z') || s[start - 1] == '/')) --start;
  const std::string_view credit = s.substr(start);
  if (credit.size() < 3 || credit.size() > 16) return std::nullopt;
  bool agency = false;
  for (std::size_t from = 0; from <= credit.size();) {
    const std::size_t slash = std::min(credit.find('/', from), credit.size());
    const std::string_view part = credit.substr(from, slash - from);
    agency = agency || part == "VNA" || part == "TTXVN" || part == "VNS" || part == "VNP" || part == "CVN";
    from = slash + 1;
  }
  if (!agency) return std::nullopt;
  std::string_view before = util::trim(s.substr(0, start));
  std::size_t dash = 0;
  if (!is_dash_at_end(before, dash)) return std::nullopt;
  return std::string(util::trim(before.substr(0, before.size() - dash)));
}

bool is_related_marker(std::string_view line) {
  if (line.size() > 40) return false;
  std::string k = util::fold_key(line);
  while (!k.empty() && (k.back() == ':' || k.back() == '.' || k.back() == ' ')) k.pop_back();
  // Only the headers of the block that ends a page: "Lire aussi" or "Read more" also introduce
  // single links in the middle of an article, and would cut its body short.
  static const std::unordered_set<std::string> kMarkers = {
      "voir plus", "articles lies", "see more", "related news",
      "xem them",  "tin lien quan", "ver mas",  "noticias relacionadas"};
  return kMarkers.count(k) != 0;
}

bool is_debris_line(std::string_view line) {
  if (line.size() > 20) return false;
  static const std::unordered_set<std::string> kDebris = {"source", "sources", "nguon", "fuente",
                                                          "vna",    "ttxvn",   "(vna)", "(ttxvn)"};
  return kDebris.count(util::fold_key(line)) != 0;
}

void finalize_article(Article& article) {
  auto clean_basic = [](std::string& s) { s = util::fold_spaces(util::sanitize_utf8(s)); };
  if (article.title) clean_basic(*article.title);
  if (article.lead) clean_basic(*article.lead);
  for (auto& s : article.body) clean_basic(s);
  for (auto& s : article.captions) clean_basic(s);
  for (auto& r : article.related) clean_basic(r.title);

  Vocabulary vocab;
  if (article.title) vocab.add_text(*article.title);
  if (article.lead) vocab.add_text(*article.lead);
  for (const auto& s : article.body) vocab.add_text(s);
  for (const auto& s : article.captions) vocab.add_text(s);
  for (const auto& r : article.related) vocab.add_text(r.title);
  // Dictionary repairs cost a few microseconds a word; a "dispatch" of megabytes is not one, and
  // gets only the cheap repairs.
  std::size_t bytes = 0;
  for (const auto& s : article.body) bytes += s.size();
  const Lexicon* lexicon = bytes <= kMaxRepairBytes ? pick_lexicon(vocab) : nullptr;

  // `s` has its spaces folded already (clean_basic), and both repairs only put one ASCII space between two
  // letters or after a punctuation mark before one: folding again would change nothing.
  auto repair = [&](std::string& s) { s = split_glued_words(fix_punctuation_spacing(s), lexicon, vocab); };
  auto repair_opt = [&](std::optional<std::string>& s) {
    if (!s) return;
    repair(*s);
    if (s->empty()) s.reset();
  };
  repair_opt(article.title);
  repair_opt(article.lead);
  auto repair_list = [&](std::vector<std::string>& list) {
    std::vector<std::string> kept;
    kept.reserve(list.size());
    for (auto& s : list) {
      repair(s);
      if (!s.empty()) kept.push_back(std::move(s));
    }
    list = std::move(kept);
  };
  repair_list(article.body);
  repair_list(article.captions);
  std::vector<RelatedItem> related;
  for (auto& r : article.related) {
    repair(r.title);
    if (r.url) *r.url = util::sanitize_utf8(*r.url);
    if (!r.title.empty()) related.push_back(std::move(r));
  }
  article.related = std::move(related);
  auto valid_opt = [](std::optional<std::string>& s) {
    if (s) *s = util::sanitize_utf8(*s);
    if (s && s->empty()) s.reset();
  };
  valid_opt(article.published);
  if (article.dateline) {
    valid_opt(article.dateline->place);
    valid_opt(article.dateline->date);
    if (!article.dateline->place && !article.dateline->date) article.dateline.reset();
  }
  // Last, so the dates are read from the repaired text and the settled publication date.
  article.dates = collect_article_dates(article);
}

}  // namespace vnawire::extract
