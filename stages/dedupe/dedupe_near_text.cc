// Near-duplicate text: boilerplate lines dropped, then words (and CJK characters) folded for shingling.
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <array>
#include <cstring>
#include <string>
#include <unordered_set>

#include "stages/dedupe/dedupe_normalize.h"
#include "stages/runtime/ascii_text.h"

namespace vnawire::dedupe {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// The same answer as contains(), searching first for the needle's least common byte: its first byte that
// is neither a lower-case letter nor a space (':' in "photo:", '1' in " anh 1"), else its first. find()
// stops at every occurrence of the first byte, and a needle starting with a space or a vowel stops at
// every other byte of prose.
bool contains_by_rare_byte(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  std::size_t anchor = 0;
  for (std::size_t i = 0; i < needle.size(); ++i) {
    if (needle[i] != ' ' && !(needle[i] >= 'a' && needle[i] <= 'z')) {
      anchor = i;
      break;
    }
  }
  for (std::size_t at = anchor; at + needle.size() - anchor <= haystack.size();) {
    const void* hit = std::memchr(haystack.data() + at, needle[anchor], haystack.size() - at);
    if (hit == nullptr) return false;
    const std::size_t found = static_cast<std::size_t>(static_cast<const char*>(hit) - haystack.data());
    if (found + needle.size() - anchor > haystack.size()) return false;
    if (haystack.compare(found - anchor, needle.size(), needle) == 0) return true;
    at = found + 1;
  }
  return false;
}

// Headings of the other articles a page lists ("Voir plus", "Lire aussi", "Tin liên quan"), in the order
// they are tried. Asked of every line of a page, menus included: a line is first tested on its first byte,
// which begins few headings.
constexpr std::array<std::string_view, 19> kRelatedHeadings = {
    "voir plus",
    "lire aussi",
    "lire plus",
    "a lire aussi",
    "articles similaires",
    "sur le meme sujet",
    "read more",
    "read also",
    "related",
    "see more",
    "xem them",
    "tin lien quan",
    "bai lien quan",
    "ver mas",
    "leer mas",
    "\xD1\x87\xD0\xB8\xD1\x82\xD0\xB0\xD1\x82\xD1\x8C \xD0\xB4\xD0\xB0\xD0\xBB\xD0\xB5\xD0\xB5",  // читать далее
    "查看更多",
    "相关新闻",
    "相关文章"};

constexpr std::array<bool, 256> kRelatedFirstBytes = [] {
  std::array<bool, 256> first{};
  for (const std::string_view heading : kRelatedHeadings) first[static_cast<unsigned char>(heading[0])] = true;
  return first;
}();

std::string_view related_heading(std::string_view folded) {
  if (folded.empty() || folded.size() > 200 || !kRelatedFirstBytes[static_cast<unsigned char>(folded[0])]) return {};
  for (const std::string_view heading : kRelatedHeadings) {
    if (folded.starts_with(heading)) return heading;
  }
  return {};
}

// The heading alone on its line ("Voir plus", "Lire aussi :"): what follows is the list, not the
// dispatch. A sentence that merely starts with the same words ("Related talks will...") is not one.
bool starts_related_block(std::string_view folded) {
  const std::string_view heading = related_heading(folded);
  if (heading.empty()) return false;
  const std::string_view rest = folded.substr(heading.size());
  return rest.find_first_not_of(" :.>»-|") == std::string_view::npos;
}

// One related article named inside the text ("Lire aussi : Le Vietnam et ..."): that line only.
bool is_related_line(std::string_view folded) {
  const std::string_view heading = related_heading(folded);
  if (heading.empty()) return false;
  const std::size_t next = folded.find_first_not_of(' ', heading.size());
  return next != std::string_view::npos && folded[next] == ':';
}

// Lines that belong to the page, not to the dispatch: photo captions and credits, picture markers,
// image file names, share buttons. Outlets differ in these, so keeping them would hide a copy.
bool is_boilerplate_line(std::string_view folded) {
  // A long line is prose, even if it mentions a photo: only caption-sized lines are candidates.
  if (folded.size() < 400) {
    for (std::string_view credit : {"photo:", "photo :", "(photo", "anh:", "anh :", "nguon:", "source :", "source:",
                                    "foto:", "foto :", "\xD1\x84\xD0\xBE\xD1\x82\xD0\xBE:",  // фото:
                                    "hinh anh 1", " anh 1", "图自", "图片来源"}) {
      if (contains_by_rare_byte(folded, credit)) return true;
    }
  }
  for (std::string_view image : {".png", ".jpg", ".jpeg", ".gif", ".webp"}) {
    if (folded.size() < 120 && contains(folded, image)) return true;
  }
  if (folded.starts_with("![") || folded.starts_with("|")) return true;
  static const std::unordered_set<std::string_view> kButtons = {
      "partager", "share",   "facebook",    "twitter",   "tweet",          "zalo",   "email",        "imprimer",
      "print",    "chia se", "in bai viet", "copy link", "copier le lien", "retour", "haut de page", "top"};
  return kButtons.contains(folded);
}

// "Hanoï (VNA) -", "Moscou (VNA) –": the dateline one outlet keeps and another drops.
std::string_view without_dateline(std::string_view folded) {
  constexpr std::size_t kLatestMark = 60;  // a mark further into the line is not a dateline's
  std::size_t agency = std::string_view::npos, after = 0;
  // The search goes no further than the longest mark (8 bytes) starting at kLatestMark.
  const std::string_view head = folded.substr(0, kLatestMark + 16);
  for (std::string_view mark : {"(vna)", "(ttxvn)", "(\xD0\xB2\xD0\xB8\xD0\xB0)" /* (виа) */}) {
    const std::size_t at = head.find(mark);
    if (at != std::string_view::npos && at < agency) agency = at, after = at + mark.size();
  }
  if (agency == std::string_view::npos || agency > kLatestMark) return folded;
  std::string_view rest = folded.substr(after);
  for (bool skipped = true; skipped;) {
    skipped = false;
    for (std::string_view dash : {" ", "-", "\xE2\x80\x93", "\xE2\x80\x94"}) {  // en and em dashes too
      if (rest.starts_with(dash)) {
        rest.remove_prefix(dash.size());
        skipped = true;
      }
    }
  }
  return rest;
}

// A leading "date 2024-06-19" stamp some copies carry ahead of the text.
std::string_view without_date_stamp(std::string_view folded) {
  std::size_t i = folded.find_first_not_of(' ');
  if (i == std::string_view::npos || folded.compare(i, 5, "date ") != 0) return folded;
  i += 5;
  const std::size_t end = folded.find_first_not_of("0123456789-", i);
  if (end == i) return folded;
  return folded.substr(end == std::string_view::npos ? folded.size() : end);
}

// Ideographs and kana are words of their own: Chinese and Japanese put no spaces between words.
bool is_own_word(UChar32 c) {
  UErrorCode status = U_ZERO_ERROR;
  const UScriptCode script = uscript_getScript(c, &status);
  return script == USCRIPT_HAN || script == USCRIPT_HIRAGANA || script == USCRIPT_KATAKANA;
}

void append_words(std::string_view folded, std::vector<std::string>& words) {
  // A word is a run of letters and digits, so it is a slice of `folded`, copied once when it ends.
  constexpr std::size_t kNone = std::string_view::npos;
  std::size_t word = kNone;
  const auto finish = [&](std::size_t end) {
    if (word != kNone && end > word) words.emplace_back(folded.substr(word, end - word));
    word = kNone;
  };
  for (int32_t i = 0, length = static_cast<int32_t>(folded.size()); i < length;) {
    if (const char byte = folded[static_cast<std::size_t>(i)]; static_cast<unsigned char>(byte) < 0x80) {
      if (runtime::ascii_alnum(byte)) {
        if (word == kNone) word = static_cast<std::size_t>(i);
      } else {
        finish(static_cast<std::size_t>(i));
      }
      ++i;
      continue;
    }
    const int32_t start = i;
    UChar32 c = 0;
    U8_NEXT(folded.data(), i, length, c);
    const auto at = static_cast<std::size_t>(start);
    if (c > 0 && u_isalnum(c) && !is_own_word(c)) {
      if (word == kNone) word = at;
    } else if (c >= 0x80 && is_own_word(c)) {
      finish(at);
      words.emplace_back(folded.substr(at, static_cast<std::size_t>(i - start)));
    } else {
      finish(at);
    }
  }
  finish(folded.size());
}

}  // namespace

std::vector<std::string> near_duplicate_words(std::string_view body, bool is_html) {
  return words_of_text(is_html ? readable_text(body) : std::string(body));
}

std::vector<std::string> words_of_text(std::string_view text) { return words_of_folded(fold(text)); }

std::vector<std::string> words_of_folded(std::string_view folded_text) {
  std::vector<std::string> words;
  std::unordered_set<std::string_view> seen_lines;  // views of folded_text
  bool first_line = true;
  std::size_t start = 0;
  while (start <= folded_text.size()) {
    std::size_t end = folded_text.find('\n', start);
    if (end == std::string_view::npos) end = folded_text.size();
    std::string_view line = folded_text.substr(start, end - start);
    start = end + 1;
    if (first_line) line = without_date_stamp(line);
    line = without_dateline(line);
    // Trimmed by hand: find_first_not_of(" \t\r") measured its set with strlen at each of a page's lines.
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!line.empty() && blank(line.front())) line.remove_prefix(1);
    while (!line.empty() && blank(line.back())) line.remove_suffix(1);
    if (line.empty()) continue;
    first_line = false;
    if (starts_related_block(line)) break;
    if (is_boilerplate_line(line) || is_related_line(line)) continue;
    // A caption or a lede shown twice counts once.
    if (!seen_lines.emplace(line).second) continue;
    append_words(line, words);
  }
  // Signatures at the end ("-VNA", "./.-VNA/VI", "（完）"): the agency's, not the text's.
  static const std::unordered_set<std::string_view> kSignature = {"vna", "vi", "vnp", "ttxvn", "vns", "vov", "完"};
  while (!words.empty() && kSignature.contains(words.back())) words.pop_back();
  return words;
}

}  // namespace vnawire::dedupe
