// Sources to documents: web pages from the crawler, files from tailed folders, responses from WARC files.
#include "stages/fetch/fetch_engine.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>

#include "stages/fetch/fetch_charset.h"
#include "stages/fetch/fetch_stage.h"
#include "stages/fetch/fetch_text.h"
#include "stages/fetch/fetch_url.h"
#include "stages/runtime/record.h"

namespace vnawire::fetch {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// The media type vnawire records: text/html or text/plain; "" for bodies that are not articles.
std::string media_type(const std::string& content_type, const std::string& body) {
  std::string type = ascii_lowered(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type == "text/html" || type == "application/xhtml+xml") return "text/html";
  if (type == "text/plain") return "text/plain";
  if (!type.empty() && type != "application/octet-stream") return "";
  const std::string_view start = trim(body);
  return !start.empty() && start.front() == '<' ? "text/html" : "text/plain";
}

std::vector<std::filesystem::path> warc_files(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.ends_with(".warc") || name.ends_with(".warc.gz")) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  return files;
}

}  // namespace

// One read of the size fstat gives: a stream copied the bytes twice, a fifth of the stage's CPU on pages.
std::optional<std::string> read_file(const std::filesystem::path& path, std::uint64_t limit, bool& too_large) {
  too_large = false;
  // Non-blocking: a FIFO put in a file's place since the listing must not hang the stage (for a regular file
  // the flag changes nothing).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat info {};
  std::optional<std::string> data;
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
    // One byte more than the size, to see the end of the file (or that it grew) in the same loop.
    const std::uint64_t want = std::min<std::uint64_t>(static_cast<std::uint64_t>(info.st_size), limit) + 1;
    std::string buffer(want, '\0');
    std::size_t got = 0;
    while (true) {
      if (got == buffer.size()) {
        if (buffer.size() > limit) break;  // more than the limit
        buffer.resize(std::min<std::uint64_t>(2 * buffer.size(), limit + 1));
      }
      const ssize_t n = ::read(fd, buffer.data() + got, buffer.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      if (n == 0) {
        buffer.resize(got);
        data = std::move(buffer);
        break;
      }
      got += static_cast<std::size_t>(n);
    }
    too_large = !data && got > limit;
  }
  ::close(fd);
  return data;
}

FetchEngine::FetchEngine(FetchSettings settings, std::string stage_name, std::filesystem::path stage_dir,
                         FetchHooks hooks)
    : settings_(std::move(settings)),
      stage_name_(std::move(stage_name)),
      stage_dir_(std::move(stage_dir)),
      hooks_(std::move(hooks)),
      last_refill_(Steady::now()) {}

FetchEngine::~FetchEngine() = default;

runtime::Status FetchEngine::start() {
  if (auto status = state_.open(stage_dir_ / "fetch-state.sqlite"); !status) return status;
  if (!state_.set_aside().empty() && hooks_.count) hooks_.count("state_set_aside", 1);
  for (std::size_t i = 0; i < settings_.directories.size(); ++i) {
    const auto& source = settings_.directories[i];
    DirectoryTail::Settings tail_settings{source.directory, source.extensions, source.recursive, source.settle_ms};
    auto tail = std::make_unique<DirectoryTail>();
    const auto log =
        source.name.empty() ? stage_dir_ / "emitted.log" : stage_dir_ / ("emitted-" + source.name + ".log");
    if (auto status = tail->open(tail_settings, log); !status) return status;
    tails_.push_back(std::move(tail));
    next_scan_.push_back(Steady::now());
  }
  for (const auto& source : settings_.warcs) {
    WarcCursor cursor;
    cursor.source = source;
    cursor.files = warc_files(source.path);
    for (const auto& file : cursor.files) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(file, ec);
      cursor.sizes.push_back(ec ? 0 : size);
    }
    warcs_.push_back(std::move(cursor));
  }
  if (!settings_.web.empty()) {
    crawler_ = std::make_unique<WebCrawler>(settings_.web, settings_.crawl, settings_.http, state_, hooks_);
    crawler_->start();
  }
  return state_.commit();
}

bool FetchEngine::make_document(const std::string& id, const std::string& url, const std::string& source,
                                const std::string& content_type, const std::string& body, const Item& known,
                                nlohmann::json fetch_info, Emission emission) {
  const std::string media = media_type(content_type, body);
  if (media.empty()) {
    count("documents_rejected");
    hooks_.dead_letter("not an article: content type " + content_type + " (" + url + ")", id, "");
    return false;
  }
  if (body.size() > settings_.max_bytes) {
    count("documents_rejected");
    hooks_.dead_letter("body larger than max_bytes (" + std::to_string(body.size()) + " bytes): " + url, id, "");
    return false;
  }
  auto decoded = decode_to_utf8(body, content_type);
  if (!decoded) {
    count("documents_rejected");
    hooks_.dead_letter("cannot decode " + url + ": " + decoded.error(), id, "");
    return false;
  }
  const std::string content_hash = xxh3_hex(decoded->utf8);
  if (known.status == ItemStatus::Emitted && known.content_hash == content_hash) {
    count(source + ".unchanged");
    return false;
  }
  emission.version = known.version + 1;
  emission.content_hash = content_hash;
  if (emission.version > 1) count(source + ".updates");
  fetch_info["source"] = source;
  fetch_info["version"] = emission.version;
  fetch_info["charset"] = decoded->charset;
  fetch_info["charset_from"] = decoded->source;
  if (auto language = settings_.source_languages.find(source); language != settings_.source_languages.end()) {
    fetch_info["language"] = language->second;
  }

  runtime::Document document;
  document.header.id = id;
  document.header.trace = id.substr(2, 8) + "-" + std::to_string(++sequence_);
  document.record = {{"id", id},
                     {"url", url},
                     {"content_type", media},
                     {"body", std::move(decoded->utf8)},
                     {"source", stage_name_},
                     {"fetched_at", runtime::iso_now_utc()},
                     {"fetch", std::move(fetch_info)}};
  in_flight_[id] = std::move(emission);
  ready_.push_back(std::move(document));
  return true;
}

void FetchEngine::page_to_document(FetchedPage page) {
  const HttpResponse& response = page.response;
  nlohmann::json info = {{"http_status", response.status}, {"final_url", response.final_url}};
  if (!page.item.title.empty()) info["title"] = page.item.title;
  if (!page.item.published.empty()) info["published"] = page.item.published;
  if (!page.item.guid.empty()) info["guid"] = page.item.guid;
  if (!response.etag.empty()) info["etag"] = response.etag;
  if (!response.last_modified.empty()) info["last_modified"] = response.last_modified;
  if (!response.content_language.empty()) info["content_language"] = response.content_language;
  if (!page.feed_language.empty()) info["feed_language"] = page.feed_language;
  Emission emission;
  emission.kind = "web";
  emission.source = page.source;
  emission.etag = response.etag;
  emission.last_modified = response.last_modified;
  if (!make_document(page.id, page.url, page.source, response.content_type, response.body, page.item, std::move(info),
                     std::move(emission))) {
    // Unchanged or rejected: nothing is in flight, so the state is settled here.
    if (page.item.status == ItemStatus::Emitted) {
      (void)state_.mark_emitted(page.id, page.item.version, page.item.content_hash, response.etag,
                                response.last_modified);
    } else if (!in_flight_.count(page.id)) {
      (void)state_.mark_failed(page.id, "rejected (see the dead-letter file)");
    }
  }
}

bool FetchEngine::produce_directory(std::size_t index) {
  DirectoryTail& tail = *tails_[index];
  const auto& source = settings_.directories[index];
  const auto now = Steady::now();
  if (!tail.has_next() && now >= next_scan_[index]) {
    tail.scan();
    next_scan_[index] = now + source.interval;
  }
  if (!tail.has_next()) return false;
  FileEntry file = tail.next();
  const std::string location = "file://" + file.path.string();
  const std::string id = document_id_for(location);
  const std::string source_name = source.name.empty() ? stage_name_ : source.name;
  auto reject = [&](const std::string& reason) {
    count("files_rejected");
    hooks_.dead_letter(reason + ": " + file.path.string(), id, "");
    tail.mark_emitted(file);
    return true;
  };
  if (file.size > settings_.max_bytes) return reject("file larger than max_bytes");
  bool too_large = false;
  const std::optional<std::string> data = read_file(file.path, settings_.max_bytes, too_large);
  if (!data) return reject(too_large ? "file larger than max_bytes" : "cannot read the file");
  const std::string content_type = content_type_for(file.path);
  Emission emission;
  emission.kind = "file";
  emission.source = source_name;
  emission.file = file;
  emission.directory = index;
  if (make_document(id, location, source_name, content_type, *data, Item{},
                    nlohmann::json{{"path", file.path.string()}}, std::move(emission))) {
    count("files_read");
  } else {
    tail.mark_emitted(file);
  }
  return true;
}

bool FetchEngine::produce_warc(WarcCursor& cursor) {
  while (true) {
    if (!cursor.reader) {
      if (cursor.next_file >= cursor.files.size()) return false;
      const auto& path = cursor.files[cursor.next_file];
      std::error_code ec;
      const auto size = std::filesystem::file_size(path, ec);
      const auto mtime = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
      cursor.resource_key = "warc:" + path.string() + ":" + std::to_string(size) + ":" + std::to_string(mtime);
      if (state_.resource(cursor.resource_key)) {  // read completely by an earlier run
        ++cursor.next_file;
        continue;
      }
      cursor.reader = std::make_unique<WarcReader>();
      if (auto status = cursor.reader->open(path, settings_.max_bytes); !status) {
        hooks_.warn(cursor.source.name, status.message());
        count(cursor.source.name + ".errors.warc");
        cursor.reader.reset();
        ++cursor.next_file;
        continue;
      }
    }
    WarcResponse record;
    auto more = cursor.reader->next(record);
    if (!more) {
      hooks_.warn(cursor.source.name, more.error());
      count(cursor.source.name + ".errors.warc");
      continue;  // the reader resynchronises on the next record
    }
    if (!*more) {
      count(cursor.source.name + ".files_done");
      (void)state_.put_resource(Resource{cursor.resource_key, "", "", ""});
      cursor.reader.reset();
      ++cursor.next_file;
      continue;
    }
    count(cursor.source.name + ".records");
    if (record.http_status < 200 || record.http_status >= 300) continue;
    const std::string canonical = canonical_url(record.target_uri);
    if (canonical.empty()) continue;
    const std::string id = document_id_for(canonical);
    Item known = state_.find(id).value_or(Item{});
    if (known.id.empty()) {
      known = Item{id, canonical, cursor.source.name};
      (void)state_.put(known, false);
    }
    if (in_flight_.count(id)) continue;
    Emission emission;
    emission.kind = "warc";
    emission.source = cursor.source.name;
    nlohmann::json info = {
        {"http_status", record.http_status}, {"warc_date", record.warc_date}, {"warc_record_id", record.record_id}};
    if (make_document(id, canonical, cursor.source.name, record.content_type, record.body, known, std::move(info),
                      std::move(emission))) {
      return true;
    }
  }
}

std::chrono::milliseconds FetchEngine::produce(runtime::Emitter& out, int budget) {
  milliseconds wait{1000};
  if (crawler_) {
    wait = crawler_->pump(ready_.size() < static_cast<std::size_t>(budget) ? milliseconds(20) : milliseconds(0));
    for (auto& page : crawler_->take_pages()) page_to_document(std::move(page));
  }
  for (std::size_t i = 0; i < tails_.size(); ++i) {
    while (ready_.size() < static_cast<std::size_t>(budget) && produce_directory(i)) {
    }
    wait = std::min(wait, tails_[i]->has_next() ? milliseconds(0)
                                                : std::chrono::duration_cast<milliseconds>(
                                                      std::max(next_scan_[i] - Steady::now(), Steady::duration(0))));
  }
  for (auto& cursor : warcs_) {
    while (ready_.size() < static_cast<std::size_t>(budget) && produce_warc(cursor)) {
    }
  }

  int allowed = budget;
  const double rate = settings_.max_docs_per_second;
  if (rate > 0) {
    const auto now = Steady::now();
    // The bucket holds at least one token, so rates below 1/s still emit.
    tokens_ = std::min(std::max(rate, 1.0), tokens_ + rate * std::chrono::duration<double>(now - last_refill_).count());
    last_refill_ = now;
    allowed = std::min(budget, static_cast<int>(tokens_));
  }
  int emitted = 0;
  while (emitted < allowed && !ready_.empty()) {
    out.emit(std::move(ready_.front()));
    ready_.pop_front();
    ++emitted;
  }
  if (rate > 0) tokens_ -= emitted;
  if (!ready_.empty()) {
    if (rate <= 0) return milliseconds(0);
    const double seconds_to_token = std::max(0.0, (1.0 - tokens_) / rate);
    return milliseconds(static_cast<std::int64_t>(std::min(seconds_to_token * 1000.0, 60000.0)) + 1);
  }
  for (const auto& cursor : warcs_) {
    if (cursor.next_file < cursor.files.size()) return milliseconds(0);
  }
  return wait;
}

void FetchEngine::on_sent(const runtime::Document& document) {
  auto it = in_flight_.find(document.header.id);
  if (it == in_flight_.end()) return;
  const Emission& emission = it->second;
  count("documents_emitted");
  if (emission.kind == "file") {
    tails_[emission.directory]->mark_emitted(emission.file);
  } else {
    if (auto status = state_.mark_emitted(document.header.id, emission.version, emission.content_hash, emission.etag,
                                          emission.last_modified);
        !status) {
      hooks_.warn(emission.source, status.message());
    }
    // Committed now: a process killed from here on does not emit this document again.
    if (auto status = state_.commit(); !status) hooks_.warn(emission.source, status.message());
  }
  in_flight_.erase(it);
}

void FetchEngine::on_abandoned(const runtime::Document& document) {
  auto it = in_flight_.find(document.header.id);
  if (it == in_flight_.end()) return;
  // Not recorded as emitted: a web item stays pending in the state and a file unrecorded in its log, so both
  // are sent again at the next start (the runtime's contract for abandoned documents).
  in_flight_.erase(it);
}

runtime::Status FetchEngine::flush() {
  runtime::Status result = state_.commit();
  for (auto& tail : tails_) {
    if (auto status = tail->flush(); !status) result = status;
  }
  return result;
}

bool FetchEngine::finished() const {
  if (!ready_.empty() || !in_flight_.empty()) return false;
  if (crawler_ && !crawler_->idle_after_first_round()) return false;
  for (const auto& tail : tails_) {
    if (tail->has_next()) return false;
  }
  for (const auto& cursor : warcs_) {
    if (cursor.next_file < cursor.files.size()) return false;
  }
  return true;
}

runtime::SourceProgress FetchEngine::progress() const {
  runtime::SourceProgress out;
  for (const auto& cursor : warcs_) {
    std::uint64_t done = 0;
    for (std::size_t i = 0; i < cursor.sizes.size(); ++i) {
      out.total += cursor.sizes[i];
      if (i < cursor.next_file) {
        done += cursor.sizes[i];
      } else if (i == cursor.next_file && cursor.reader) {
        done += std::min(cursor.reader->file_bytes_read(), cursor.sizes[i]);  // a file may grow while read
      }
    }
    out.done += done;
  }
  return out;
}

}  // namespace vnawire::fetch
