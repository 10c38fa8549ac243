// Extracts the structure of a text dispatch as scraped from VNA's sites.
//
// The layout this reads (one paragraph per line, blank lines optional):
//   <title>                                   or  " date 2024-01 <lead>" (no title then)
//   <lead: the chapeau sentence>
//   <title> ảnh 1[<caption> Photo: VNA]       the image's alt text, glued to its caption
//   [<caption> Source: VNA]                   the caption on its own line when the alt text is bare
//   Moscou (VNA) – <first paragraph>          the dateline opens the body
//   <paragraphs…> -VNA                        the signature closes it
//   source                                    debris
//   Voir plus                                 then related items: [<caption> Photo: VNA] <title> <summary>
// A caption line may carry the next paragraph glued after its credit ("… Photo : VNA La délégation…").
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_common.h"
#include "stages/extract/extract_dateline.h"
#include "stages/extract/extract_text_util.h"
#include "stages/runtime/byte_scan.h"

namespace vnawire::extract {
namespace {

constexpr std::size_t kMaxTitleChars = 250;
constexpr std::size_t kMaxCaptionChars = 400;

bool ends_sentence(std::string_view s) { return util::ends_with(s, ".") || util::ends_with(s, "…"); }

// "<title> ảnh 1<caption>": the alt text VNA's pages give every image. Returns the caption part
// (possibly empty) when `unit` is such a line. The text before the marker must be the title, so that
// the Vietnamese word "ảnh" (photo) inside an ordinary sentence is not taken for it.
std::optional<std::string> strip_image_marker(std::string_view unit, const std::optional<std::string>& title) {
  static constexpr std::string_view kMarker = "ảnh ";
  for (std::size_t pos = unit.find(kMarker); pos != std::string_view::npos; pos = unit.find(kMarker, pos + 1)) {
    if (pos > 4 * kMaxTitleChars) break;  // past any title: keeps a pathological line linear
    std::size_t end = pos + kMarker.size();
    const std::size_t digits = end;
    while (end < unit.size() && unit[end] >= '0' && unit[end] <= '9') ++end;
    if (end == digits || end - digits > 2) continue;
    const std::string prefix = util::fold_key(util::trim(unit.substr(0, pos)));
    if (prefix.empty()) continue;
    if (title ? prefix != util::fold_key(*title) : util::length_chars(prefix) > kMaxTitleChars) continue;
    return std::string(util::trim(unit.substr(end)));
  }
  return std::nullopt;
}

bool title_like(const std::string& unit) {
  const std::size_t n = util::length_chars(unit);
  if (n > kMaxTitleChars || (ends_sentence(unit) && n > 160)) return false;
  return !match_dateline(unit) && !find_credit(unit) && !is_related_marker(unit) && !strip_signature(unit);
}

bool lead_like(const std::string& unit, const std::optional<std::string>& title) {
  if (util::length_chars(unit) < 30 || (title && unit == *title)) return false;
  return !match_dateline(unit) && !find_credit(unit) && !is_related_marker(unit) && !is_debris_line(unit) &&
         !strip_image_marker(unit, title) && !strip_signature(unit);
}

// Related items: titles are the lines that are neither captions (credited, or ending like a
// sentence) nor summaries (the long line after a title). An item's image alt text may repeat its
// title on the line before: the repeat is read once.
std::vector<RelatedItem> parse_related(const std::vector<std::string>& units, std::size_t from) {
  std::vector<RelatedItem> related;
  bool prev_title = false;
  std::size_t prev_len = 0;
  for (std::size_t k = from; k < units.size(); ++k) {
    const std::string& u = units[k];
    if (is_related_marker(u) || is_debris_line(u) || find_credit(u)) {
      prev_title = false;
      continue;
    }
    if (k + 1 < units.size() && units[k + 1] == u) continue;
    const std::size_t n = util::length_chars(u);
    bool title = n <= kMaxTitleChars && !ends_sentence(u) && u.find(' ') != std::string::npos;
    // A summary cut without its full stop is still much longer than the title above it.
    if (title && prev_title && n > 2 * prev_len && n > 120) title = false;
    if (title) related.push_back({u, std::nullopt});
    prev_title = title;
    prev_len = n;
  }
  return related;
}

Article extract_text_impl(std::string_view text) {
  if (text.size() > util::kMaxInputBytes || !runtime::is_valid_utf8(text) || util::looks_binary(text)) return {};
  const std::string normalized = util::to_nfc(text);
  std::vector<std::string> units;
  for (const std::string_view line : util::split_lines(normalized)) {
    std::string folded = util::fold_spaces(line);
    if (!folded.empty()) units.push_back(std::move(folded));
  }
  if (units.empty()) return {};

  Article a;
  std::size_t next = 0;
  std::vector<std::string> queue;  // units still to read, in order, starting with the header's rest
  if (const auto header = match_date_header(units[0])) {
    a.published = header->first;
    std::string rest = units[0].substr(header->second);
    if (!rest.empty()) queue.push_back(std::move(rest));
    next = 1;
  } else if (title_like(units[0])) {
    a.title = units[0];
    next = 1;
  }
  // From here on, units are read in order; the lead is the first one if it reads like a sentence.
  for (std::size_t k = next; k < units.size(); ++k) queue.push_back(units[k]);
  std::size_t i = 0;
  if (i < queue.size() && lead_like(queue[i], a.title)) a.lead = queue[i++];

  bool closed = false;          // the signature was seen: the body is over
  bool expect_caption = false;  // a bare image marker: its caption is the next line
  bool dateline_done = false;
  std::size_t dateline_paragraph = 0;         // 1-based number of the body paragraph that held the dateline
  std::optional<std::size_t> last_body_unit;  // where the last body paragraph came from
  for (; i < queue.size(); ++i) {
    std::string u = queue[i];
    if (is_related_marker(u)) {
      a.related = parse_related(queue, i + 1);
      break;
    }
    // Debris, and the headline repeated as a bare image alt text.
    if (closed || is_debris_line(u) || (a.title && u == *a.title)) continue;
    bool is_caption = expect_caption;
    expect_caption = false;
    if (auto marker = strip_image_marker(u, a.title)) {
      if (marker->empty()) {
        expect_caption = true;
        continue;
      }
      u = std::move(*marker);
      is_caption = true;
    }
    if (auto credit = find_credit(u)) {
      if (!credit->caption.empty()) {
        a.captions.push_back(credit->caption);
      } else if (!is_caption && last_body_unit && *last_body_unit + 1 == i && a.body.size() != dateline_paragraph &&
                 util::length_chars(a.body.back()) <= kMaxCaptionChars) {
        // A credit alone on its line belongs to the short line just above it.
        a.captions.push_back(a.body.back());
        a.body.pop_back();
      }
      if (credit->rest.empty()) continue;
      u = std::move(credit->rest);
    } else if (is_caption) {
      // Text glued to the image marker is its caption. The line after a bare marker, if it has no
      // credit, is taken for the caption only when the dateline paragraph follows it.
      const bool glued = u != queue[i];
      const bool before_dateline = i + 1 < queue.size() && match_dateline(queue[i + 1]).has_value();
      if (util::length_chars(u) <= kMaxCaptionChars && !match_dateline(u) && (glued || before_dateline)) {
        a.captions.push_back(u);
        continue;
      }
    }
    if (auto sig = strip_signature(u); sig && sig->empty()) {
      closed = true;
      continue;
    }
    if (!dateline_done && a.body.size() < 3) {
      if (const auto d = match_dateline(u)) {
        dateline_done = true;
        dateline_paragraph = a.body.size() + 1;
        if (d->place || d->date) a.dateline = Dateline{d->place, d->date};
        u = u.substr(d->text_start);
      }
    }
    if (auto sig = strip_signature(u)) {
      u = std::move(*sig);
      closed = true;
    }
    if (u.empty()) continue;
    a.body.push_back(std::move(u));
    last_body_unit = i;
  }

  if (a.dateline && a.dateline->date) {
    *a.dateline->date = infer_year(*a.dateline->date, a.published);
    // With no header, a dateline that names its year is the best publication date there is.
    if (!a.published && a.dateline->date->front() != 'X') a.published = a.dateline->date;
  }
  finalize_article(a);
  return a;
}

}  // namespace

Article extract_text_dispatch(std::string_view text) {
  try {
    return extract_text_impl(text);
  } catch (...) {
    return Article{};  // a bad record must never take the pipeline down
  }
}

}  // namespace vnawire::extract
