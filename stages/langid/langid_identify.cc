// The order of evidence: a confident CLD2 on long text, a hint the script allows, the script, CLD2, the n-grams.
#include "stages/langid/langid_identify.h"

#include <algorithm>
#include <string>

#include "stages/langid/langid_ngram.h"
#include "stages/langid/langid_script.h"
#include "stages/runtime/markup.h"

namespace vnawire::langid {
namespace {

bool among_top(const Detection& detection, const std::string& code) {
  for (const auto& share : detection.top) {
    if (share.code == code) return true;
  }
  return false;
}

Detection decided(Detection detection, std::string code, double confidence, std::string from) {
  detection.code = std::move(code);
  detection.confidence = confidence;
  detection.from = std::move(from);
  return detection;
}

// On short text CLD2 often answers a close neighbour of a language VNA's readers meet (Malay for Indonesian,
// Galician for Spanish or Portuguese); none of those neighbours is published by VNA, so the model, which
// knows the languages in stages/langid/corpus, decides between the ones that matter.
bool answers_a_neighbour(const Detection& detection) {
  if (detection.text_bytes >= kLongTextBytes || !written_in(detection.code, Script::Latin)) return false;
  static const std::vector<std::string> modelled = ngram_languages();
  return std::find(modelled.begin(), modelled.end(), detection.code) == modelled.end();
}

// Where a window edge near `at` falls: just after the first white space within kWindowSlack bytes, so that
// CLD2 sees no cut word; in text written without spaces (Chinese, Japanese, Thai), on the first UTF-8 lead
// byte from `at`, so that it sees no cut character and the window stays about its width.
std::size_t window_edge(std::string_view text, std::size_t at) {
  constexpr std::size_t kWindowSlack = 64;
  if (at == 0 || at >= text.size()) return std::min(at, text.size());
  const std::size_t stop = std::min(text.size(), at + kWindowSlack);
  for (std::size_t i = at; i < stop; ++i) {
    if (text[i] == ' ' || text[i] == '\n' || text[i] == '\t') return i + 1;
  }
  std::size_t i = at;
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  return i;
}

// CLD2's cost is linear in the text; its answer on a long text of one language is settled long before the end.
// So a long text is first identified on three windows (its start, middle and end): when CLD2 is reliable there
// and gives one language at least kSampleAgreement percent, that is the answer. Anything less (two languages,
// a lead in one and a body in another, an unsure sample) is decided on the whole text as before. The windows
// lie within what detect_language() reads of the whole (its first kMaxDetectBytes).
Detection detect_long_text(std::string_view plain, bool is_html, bool sample_long_texts) {
  const std::string_view read = plain.substr(0, kMaxDetectBytes);
  if (sample_long_texts && read.size() >= kSampleFromBytes) {
    std::string sample;
    sample.reserve(3 * kSampleWindowBytes + 200);
    for (std::size_t at : {std::size_t{0}, (read.size() - kSampleWindowBytes) / 2, read.size() - kSampleWindowBytes}) {
      const std::size_t begin = window_edge(read, at);
      const std::size_t end = std::max(begin, window_edge(read, at + kSampleWindowBytes));
      if (!sample.empty()) sample += '\n';
      sample.append(read.substr(begin, end - begin));
    }
    Detection detection = detect_language(sample, is_html);
    if (detection.code != "und" && detection.reliable && detection.text_bytes >= kLongTextBytes &&
        !detection.top.empty() && detection.top.front().code == detection.code &&
        detection.top.front().percent >= kSampleAgreement) {
      detection.sampled = true;
      return detection;
    }
  }
  return detect_language(plain, is_html);
}

}  // namespace

Detection identify(std::string_view text, bool is_html, const std::vector<LanguageHint>& hints,
                   bool sample_long_texts) {
  // Markup, scripts and styles must not vote, neither in CLD2 nor in the script count.
  const std::string html_text = is_html ? runtime::visible_text(text) : std::string();
  const std::string_view visible = is_html ? std::string_view(html_text) : text;
  const ScriptCounts scripts = count_scripts(visible);
  const std::string plain = scrubbed_utf8(visible);
  Detection detection = detect_long_text(plain, is_html, sample_long_texts);
  detection.from = "cld2";
  // No letters (empty, digits only) or binary (a tenth of it not text): nothing to identify, whatever the
  // hints say.
  if (scripts.total == 0 || scripts.invalid * 10 > visible.size()) {
    return decided(std::move(detection), "und", 0.0, "none");
  }
  if (detection.code != "und" && detection.reliable && detection.text_bytes >= kLongTextBytes) return detection;

  const Script script = scripts.dominant();
  for (const auto& hint : hints) {
    // A hint naming a language the text cannot be written in (fr on Cyrillic) is a mislabelled page.
    if (!written_in(hint.code, script)) continue;
    const bool agrees = detection.code == hint.code || among_top(detection, hint.code);
    return decided(std::move(detection), hint.code, agrees ? 0.95 : 0.7, "hint:" + hint.from);
  }
  if (std::string by_script = language_of_script(scripts); !by_script.empty()) {
    // On short text CLD2 often answers a neighbour (ja for a kanji-only title); the script is surer.
    if (detection.code != by_script || !detection.reliable) {
      return decided(std::move(detection), by_script, 0.8, "script");
    }
    return detection;
  }
  if (detection.code == "und" || !detection.reliable) {
    // CLD2 has no answer on most single Cyrillic words; Russian is the only Cyrillic language VNA publishes in.
    if (script == Script::Cyrillic) return decided(std::move(detection), "ru", 0.5, "script");
  }
  if (script == Script::Latin && (detection.code == "und" || answers_a_neighbour(detection))) {
    // CLD2 answers nothing on most one- and two-word Latin texts; the n-gram model always has a best guess.
    // Where CLD2 answers a language the model knows, it stays: replacing those answers too lost more (English
    // sentences) than it won (docs/langid.md).
    NgramGuess guess = ngram_language(plain);
    if (!guess.code.empty()) return decided(std::move(detection), guess.code, 0.5, "ngram");
  }
  if (detection.code == "und") return decided(std::move(detection), "und", 0.0, "none");
  return detection;
}

}  // namespace vnawire::langid
