// The replay folder: which files exist, which are released, what each one's title, ETag and gzip form are.
#include <sys/stat.h>
#include <xxhash.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "daemon/replay_site.h"
#include "stages/extract/extract_text_util.h"
#include "stages/runtime/codec.h"

namespace vnawire::replay {
namespace {

namespace util = extract::util;

struct FileState {
  std::uintmax_t size = 0;
  Clock::time_point modified;
};

std::optional<FileState> file_state(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  const auto since_epoch = std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec);
  return FileState{static_cast<std::uintmax_t>(info.st_size),
                   Clock::time_point(std::chrono::duration_cast<Clock::duration>(since_epoch))};
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool served_extension(const std::filesystem::path& path, bool& html) {
  const std::string extension = lower_ascii(path.extension().string());
  html = extension == ".html" || extension == ".htm";
  return html || extension == ".txt";
}

// The named entities a news title realistically holds; others stay as written.
std::optional<std::uint32_t> named_entity(std::string_view name) {
  static const std::pair<std::string_view, std::uint32_t> kEntities[] = {
      {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},     {"apos", '\''},    {"nbsp", 0xA0},
      {"laquo", 0xAB},   {"raquo", 0xBB},   {"lsquo", 0x2018},  {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
      {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"eacute", 0xE9},  {"egrave", 0xE8},  {"ecirc", 0xEA},
      {"agrave", 0xE0},  {"acirc", 0xE2},   {"ccedil", 0xE7},   {"ocirc", 0xF4},   {"icirc", 0xEE},   {"ugrave", 0xF9},
      {"ucirc", 0xFB},   {"Eacute", 0xC9},  {"euml", 0xEB},     {"iuml", 0xEF},    {"oelig", 0x153},  {"deg", 0xB0},
  };
  for (const auto& [entity, code_point] : kEntities) {
    if (entity == name) return code_point;
  }
  return std::nullopt;
}

std::string decode_entities(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::size_t end = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (end == std::string_view::npos || end - i > 12) {
      out += text[i];
      continue;
    }
    const std::string_view name = text.substr(i + 1, end - i - 1);
    std::optional<std::uint32_t> code_point;
    if (name.size() > 1 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string digits(name.substr(hex ? 2 : 1));
      char* parse_end = nullptr;
      const unsigned long value = std::strtoul(digits.c_str(), &parse_end, hex ? 16 : 10);
      if (!digits.empty() && *parse_end == '\0') code_point = static_cast<std::uint32_t>(std::min(value, 0x110000UL));
    } else {
      code_point = named_entity(name);
    }
    if (!code_point) {
      out += text[i];
      continue;
    }
    // 0, surrogates and values past U+10FFFF are not characters: U+FFFD stands in.
    const bool character =
        *code_point != 0 && *code_point <= 0x10FFFF && (*code_point < 0xD800 || *code_point > 0xDFFF);
    util::append_utf8(out, character ? static_cast<char32_t>(*code_point) : U'\uFFFD');
    i = end;
  }
  return out;
}

// Drops markup from one line; an unclosed tag hides the rest of the line.
std::string strip_tags(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '<') {
      out += line[i];
      continue;
    }
    const std::size_t close = line.find('>', i);
    if (close == std::string_view::npos) break;
    out += ' ';
    i = close;
  }
  return out;
}

// Drops control characters (C0, DEL, C1: XML 1.0 forbids most of them), folds white space, keeps ~300 bytes.
std::string clean_title(std::string_view text) {
  std::string kept;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      ++i;
      continue;
    }
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) continue;
    kept += text[i];
  }
  std::string out = util::fold_spaces(kept);
  if (out.size() > 300) {
    std::size_t cut = 300;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::string html_title_element(std::string_view text) {
  const std::string lowered = lower_ascii(text.substr(0, 64 * 1024));
  std::size_t open = 0;
  while ((open = lowered.find("<title", open)) != std::string::npos) {
    const char after = open + 6 < lowered.size() ? lowered[open + 6] : '\0';
    if (after == '>' || after == ' ' || after == '\t' || after == '\n' || after == '\r') break;
    open += 6;
  }
  if (open == std::string::npos) return "";
  const std::size_t start = lowered.find('>', open);
  const std::size_t end = start == std::string::npos ? start : lowered.find("</title", start);
  if (end == std::string::npos) return "";
  return clean_title(decode_entities(text.substr(start + 1, end - start - 1)));
}

void deflate_into(z_stream& stream, std::string& out, int flush) {
  char chunk[64 * 1024];
  do {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    ::deflate(&stream, flush);
    out.append(chunk, sizeof chunk - stream.avail_out);
  } while (stream.avail_out == 0);
}

z_stream gzip_stream(int level) {
  z_stream stream{};
  // windowBits 15 + 16: the gzip wrapper rather than zlib's.
  ::deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  return stream;
}

}  // namespace

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) util::append_utf8(out, c);
  return out;
}

std::string title_of(std::string_view body, bool html, bool utf8, const std::string& fallback) {
  const std::string text = utf8 ? std::string(body) : latin1_to_utf8(body);
  std::string_view rest = text;
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
  if (html) {
    if (std::string title = html_title_element(rest); !title.empty()) return title;
  }
  for (const std::string_view line : util::split_lines(rest)) {
    std::string title = html ? clean_title(decode_entities(strip_tags(line))) : clean_title(line);
    if (!title.empty()) return title;
  }
  return fallback;
}

std::string gzip(std::string_view data) {
  z_stream stream = gzip_stream(Z_DEFAULT_COMPRESSION);
  std::string out;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  deflate_into(stream, out, Z_FINISH);
  ::deflateEnd(&stream);
  return out;
}

std::string gzip_zeros(std::uint64_t bytes) {
  z_stream stream = gzip_stream(Z_BEST_COMPRESSION);
  static const std::string kZeros(1 << 20, '\0');
  std::string out;
  while (bytes > 0) {
    const std::uint64_t take = std::min<std::uint64_t>(bytes, kZeros.size());
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(kZeros.data()));
    stream.avail_in = static_cast<uInt>(take);
    bytes -= take;
    deflate_into(stream, out, bytes == 0 ? Z_FINISH : Z_NO_FLUSH);
  }
  ::deflateEnd(&stream);
  return out;
}

std::string etag_of(std::string_view data) {
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"",
                static_cast<unsigned long long>(XXH3_64bits(data.data(), data.size())));
  return text;
}

std::shared_ptr<const std::string> Article::gzipped() const {
  std::call_once(gzip_once_, [this] { gzip_ = std::make_shared<const std::string>(gzip(*body)); });
  return gzip_;
}

std::shared_ptr<const Article> load_article(const std::filesystem::path& path, Clock::time_point modified,
                                            std::uintmax_t size) {
  bool html = false;
  if (!served_extension(path, html)) return nullptr;
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::ostringstream content;
  content << in.rdbuf();
  auto article = std::make_shared<Article>();
  article->name = path.filename().string();
  article->path = path;
  article->body = std::make_shared<const std::string>(std::move(content).str());
  article->mime = html ? "text/html" : "text/plain";
  article->utf8 = runtime::is_valid_utf8(*article->body);
  article->title = title_of(*article->body, html, article->utf8, article->name);
  article->etag = etag_of(*article->body);
  article->modified = modified;
  article->size = size;
  return article;
}

Catalogue::Catalogue(std::filesystem::path directory, bool release_on_discovery)
    : directory_(std::move(directory)), release_on_discovery_(release_on_discovery) {}

runtime::Status Catalogue::rescan() {
  std::error_code error;
  std::filesystem::directory_iterator it(directory_, error);
  if (error) return runtime::Status::error("cannot read the folder " + directory_.string() + ": " + error.message());
  std::map<std::string, std::pair<std::filesystem::path, FileState>> found;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) break;
    const auto& path = it->path();
    const std::string name = path.filename().string();
    bool html = false;
    if (name.empty() || name[0] == '.' || !served_extension(path, html)) continue;
    if (auto state = file_state(path)) found.emplace(name, std::make_pair(path, *state));
  }
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const auto& item) { return !found.contains(item.first); });
  for (const auto& [name, file] : found) {
    auto [entry, inserted] = entries_.try_emplace(name);
    const FileState& state = file.second;
    const auto& current = entry->second.article;
    if (current && current->size == state.size && current->modified == state.modified) continue;
    auto article = load_article(file.first, state.modified, state.size);
    if (!article) {
      if (inserted) entries_.erase(entry);
      continue;
    }
    entry->second.article = std::move(article);
    if (inserted && release_on_discovery_) release(entry->second);
  }
  return {};
}

void Catalogue::release(Entry& entry) {
  entry.released = true;
  entry.released_at = Clock::now();
  entry.sequence = next_sequence_++;
}

bool Catalogue::release_next() {
  std::lock_guard lock(mutex_);
  for (auto& [name, entry] : entries_) {
    if (!entry.released) {
      release(entry);
      return true;
    }
  }
  return false;
}

std::size_t Catalogue::released() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& item) { return item.second.released; }));
}

std::size_t Catalogue::pending() const {
  std::lock_guard lock(mutex_);
  return entries_.size() -
         static_cast<std::size_t>(
             std::count_if(entries_.begin(), entries_.end(), [](const auto& item) { return item.second.released; }));
}

std::vector<ReleasedArticle> Catalogue::newest_first() const {
  std::vector<std::pair<std::uint64_t, ReleasedArticle>> released;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, entry] : entries_) {
      if (entry.released) released.push_back({entry.sequence, {entry.article, entry.released_at}});
    }
  }
  std::sort(released.begin(), released.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<ReleasedArticle> out;
  out.reserve(released.size());
  for (auto& item : released) out.push_back(std::move(item.second));
  return out;
}

std::shared_ptr<const Article> Catalogue::released_article(const std::string& name) {
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    known = entries_.contains(name);
  }
  // A file dropped in since the last scan is served at once when files are released as they come.
  if (!known && release_on_discovery_) rescan();
  std::lock_guard lock(mutex_);
  auto entry = entries_.find(name);
  if (entry == entries_.end() || !entry->second.released) return nullptr;
  const auto state = file_state(entry->second.article->path);
  if (!state) {
    entries_.erase(entry);
    return nullptr;
  }
  const auto& current = entry->second.article;
  if (current->size != state->size || current->modified != state->modified) {
    if (auto article = load_article(current->path, state->modified, state->size)) entry->second.article = article;
  }
  return entry->second.article;
}

}  // namespace vnawire::replay
