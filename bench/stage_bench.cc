// Per-stage micro-benchmarks on the project's own sample dispatches: codec, dedupe, langid, extract, sinks.
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "stages/dedupe/dedupe_normalize.h"
#include "stages/extract/extract_article.h"
#include "stages/extract/extract_article_tokens.h"
#include "stages/extract/extract_entities.h"
#include "stages/extract/extract_events.h"
#include "stages/extract/extract_quotes.h"
#include "stages/fetch/fetch_charset.h"
#include "stages/fetch/fetch_directory.h"
#include "stages/fetch/fetch_feed.h"
#include "stages/fetch/fetch_url.h"
#include "stages/langid/langid_cld2.h"
#include "stages/langid/langid_identify.h"
#include "stages/langid/langid_ngram.h"
#include "stages/runtime/codec.h"
#include "stages/runtime/logging.h"
#include "stages/runtime/options.h"
#include "stages/sink/sink_stages.h"
#include "tests/support/pg_cluster.h"

namespace {

struct Sample {
  std::string body;
  bool html;
};

const std::vector<Sample>& samples() {
  static const std::vector<Sample> loaded = [] {
    std::vector<Sample> out;
    for (const auto& entry : std::filesystem::directory_iterator(VNAWIRE_SOURCE_DIR "/examples/samples")) {
      const auto ext = entry.path().extension().string();
      if (ext != ".txt" && ext != ".html") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      out.push_back({text.str(), ext == ".html"});
    }
    return out;
  }();
  return loaded;
}

template <typename Fn>
void over_samples(benchmark::State& state, bool html_only, bool text_only, Fn fn) {
  std::size_t bytes = 0, docs = 0;
  for (auto _ : state) {
    for (const auto& sample : samples()) {
      if ((html_only && !sample.html) || (text_only && sample.html)) continue;
      fn(sample);
      bytes += sample.body.size();
      ++docs;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(docs));
}

void BM_CodecRoundTrip(benchmark::State& state) {
  over_samples(state, false, false, [](const Sample& sample) {
    vnawire::runtime::Document d;
    d.header.id = "f-0123456789abcdef";
    d.record = {{"id", d.header.id}, {"content_type", "text/plain"}, {"body", sample.body}};
    auto frames = vnawire::runtime::encode(d);
    auto back = vnawire::runtime::decode(frames.header, frames.payload);
    benchmark::DoNotOptimize(back);
  });
}

// The two halves of the round trip, and nlohmann's own dump beside the codec's (stages/runtime/json_dump.h).
void BM_CodecEncode(benchmark::State& state) {
  over_samples(state, false, false, [](const Sample& sample) {
    vnawire::runtime::Document d;
    d.header.id = "f-0123456789abcdef";
    d.record = {{"id", d.header.id}, {"content_type", "text/plain"}, {"body", sample.body}};
    benchmark::DoNotOptimize(vnawire::runtime::encode(d));
  });
}

void BM_NlohmannDump(benchmark::State& state) {
  over_samples(state, false, false, [](const Sample& sample) {
    const nlohmann::json record = {{"id", "f-0123456789abcdef"}, {"content_type", "text/plain"}, {"body", sample.body}};
    benchmark::DoNotOptimize(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
}

void BM_CodecDecode(benchmark::State& state) {
  std::map<const Sample*, vnawire::runtime::Frames> encoded;
  for (const auto& sample : samples()) {
    vnawire::runtime::Document d;
    d.header.id = "f-0123456789abcdef";
    d.record = {{"id", d.header.id}, {"content_type", "text/plain"}, {"body", sample.body}};
    encoded[&sample] = vnawire::runtime::encode(d);
  }
  over_samples(state, false, false, [&encoded](const Sample& sample) {
    const auto& frames = encoded.at(&sample);
    benchmark::DoNotOptimize(vnawire::runtime::decode(frames.header, frames.payload));
  });
}

void BM_DedupeFingerprint(benchmark::State& state) {
  over_samples(state, false, false, [](const Sample& sample) {
    auto fp = vnawire::dedupe::fingerprint(vnawire::dedupe::normalize_for_dedupe(sample.body, sample.html));
    benchmark::DoNotOptimize(fp);
  });
}

void BM_LangidDetect(benchmark::State& state) {
  over_samples(state, false, false, [](const Sample& sample) {
    auto d = vnawire::langid::detect_language(sample.body, sample.html);
    benchmark::DoNotOptimize(d);
  });
}

// The whole decision the stage makes (visible text, script count, CLD2, hints, n-grams when CLD2 has no answer).
void BM_LangidIdentify(benchmark::State& state) {
  const std::vector<vnawire::langid::LanguageHint> hints{{"fr", "url"}};
  over_samples(state, false, false, [&hints](const Sample& sample) {
    auto d = vnawire::langid::identify(sample.body, sample.html, hints);
    benchmark::DoNotOptimize(d);
  });
}

// Titles: the first line of each sample, where hints and the n-gram model do their work.
void BM_LangidIdentifyTitles(benchmark::State& state) {
  std::vector<std::string> titles;
  for (const auto& sample : samples()) {
    if (!sample.html) titles.push_back(sample.body.substr(0, sample.body.find('\n')));
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    for (const auto& title : titles) {
      auto d = vnawire::langid::identify(title, false, {});
      benchmark::DoNotOptimize(d);
      bytes += title.size();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_LangidNgram(benchmark::State& state) {
  over_samples(state, false, true, [](const Sample& sample) {
    auto guess = vnawire::langid::ngram_language(sample.body);
    benchmark::DoNotOptimize(guess);
  });
}

void BM_ExtractText(benchmark::State& state) {
  vnawire::extract::extract_text_dispatch("Warm up\n\nHanoï (VNA) – lexicon load. -VNA");
  over_samples(state, false, true, [](const Sample& sample) {
    auto a = vnawire::extract::extract_text_dispatch(sample.body);
    benchmark::DoNotOptimize(a);
  });
}

// The words tokenized once, then entities, and quotes and events from them, as the extract stage runs them,
// on the articles the text samples give (bytes are the dispatches' sizes): what issue 7's rules add to each
// dispatch (its target: 200 us per 4 KB).
void BM_ExtractEntitiesEventsQuotes(benchmark::State& state) {
  std::vector<std::pair<vnawire::extract::Article, std::size_t>> articles;
  for (const auto& sample : samples()) {
    if (!sample.html) articles.emplace_back(vnawire::extract::extract_text_dispatch(sample.body), sample.body.size());
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    for (const auto& [article, size] : articles) {
      auto tokens = vnawire::extract::tokenize_article(article);
      const auto entities = vnawire::extract::extract_entities(article, tokens);
      auto quotes = vnawire::extract::extract_quotes(tokens, entities);
      auto events = vnawire::extract::extract_events(article, tokens, entities);
      benchmark::DoNotOptimize(quotes);
      benchmark::DoNotOptimize(events);
      bytes += size;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * articles.size()));
}

void BM_ExtractHtml(benchmark::State& state) {
  over_samples(state, true, false, [](const Sample& sample) {
    auto a = vnawire::extract::extract_html_page(sample.body, "");
    benchmark::DoNotOptimize(a);
  });
}

// Fetch's per-page CPU work: charset decoding of each body, and per-listing work (a 100-item feed, URLs).
void BM_FetchDecodeBody(benchmark::State& state) {
  over_samples(state, false, false, [](const Sample& sample) {
    auto decoded = vnawire::fetch::decode_to_utf8(sample.body, sample.html ? "text/html" : "text/plain");
    benchmark::DoNotOptimize(decoded);
  });
}

void BM_FetchParseFeed100(benchmark::State& state) {
  std::string xml = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>bench</title>";
  for (int i = 0; i < 100; ++i) {
    xml += "<item><title>D\u00e9p\u00eache " + std::to_string(i) + "</title><link>https://fr.example.invalid/a-" +
           std::to_string(i) +
           ".vnp?utm_source=rss</link><pubDate>Mon, 30 Nov 2026 10:00:00 +0700</pubDate>"
           "<guid>g" +
           std::to_string(i) + "</guid></item>";
  }
  xml += "</channel></rss>";
  for (auto _ : state) {
    auto feed = vnawire::fetch::parse_feed(xml, "https://fr.example.invalid/rss.xml");
    for (const auto& entry : feed->entries) benchmark::DoNotOptimize(vnawire::fetch::canonical_url(entry.url));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
}

// The directory source's poll: one scan of a folder of range(0) files that were all sent already (a folder
// that only grows, as a drop folder does), per scan and per file. The fetch stage scans it every
// poll_interval_ms while it has nothing queued.
void BM_FetchDirectoryScan(benchmark::State& state) {
  std::string pattern = (std::filesystem::temp_directory_path() / "vnawire-bench-scan-XXXXXX").string();
  const std::filesystem::path dir = ::mkdtemp(pattern.data());
  std::filesystem::create_directories(dir / "inbox");
  for (int64_t i = 0; i < state.range(0); ++i) {
    std::ofstream(dir / "inbox" / ("dispatch-" + std::to_string(i) + ".txt")) << "Texte " << i;
  }
  vnawire::fetch::DirectoryTail tail;
  if (!tail.open({dir / "inbox", {".txt", ".html"}, false, 0}, dir / "state.log").ok()) {
    state.SkipWithError("cannot open the folder");
    return;
  }
  tail.scan();
  while (tail.has_next()) tail.mark_emitted(tail.next());
  for (auto _ : state) benchmark::DoNotOptimize(tail.scan());
  state.SetItemsProcessed(state.iterations() * state.range(0));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_FetchDirectoryScan)->Arg(3000)->Unit(benchmark::kMicrosecond);

// Bytes this process has handed to write system calls so far (/proc/self/io), 0 where unknown. Not what
// goes through a socket (PostgreSQL's sink writes with send()).
double written_bytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  double value = 0;
  while (io >> key >> value) {
    if (key == "wchar:") return value;
  }
  return 0;
}

// A sink's documents/s with its default batching: each sample dispatch extracted into its full record
// (as the extract stage sends it), under a new id each time so that every write is an insert; a flush
// every 1,000 documents, as the runtime's flush timer would at this rate.
void run_sink(benchmark::State& state, const vnawire::runtime::StageDescriptor& descriptor,
              const std::string& options_yaml) {
  std::string pattern = (std::filesystem::temp_directory_path() / "vnawire-bench-sink-XXXXXX").string();
  const std::filesystem::path dir = ::mkdtemp(pattern.data());
  std::vector<vnawire::runtime::ConfigError> errors;
  const vnawire::runtime::Options options =
      vnawire::runtime::bind_options(YAML::Load(options_yaml), descriptor.options, "bench", "options", errors);
  vnawire::runtime::Counters counters;
  vnawire::runtime::StageContext context;
  context.name = descriptor.type;
  context.state_dir = dir;
  context.stage_dir = dir / descriptor.type;
  std::filesystem::create_directories(context.stage_dir);
  context.options = &options;
  context.log = vnawire::runtime::make_logger(descriptor.type, "warn");
  context.counters = &counters;
  context.dead_letter = [](const std::string&, const std::string&, const std::string&) {};
  auto stage = descriptor.create(context);
  if (const auto started = stage->start(); !started.ok()) {
    state.SkipWithError(("the sink did not start: " + started.message()).c_str());
    return;
  }
  std::vector<nlohmann::json> records;
  for (const auto& sample : samples()) {
    if (sample.html) continue;
    nlohmann::json record = {{"body", sample.body}, {"content_type", "text/plain"}, {"lang", "fr"}};
    record["article"] = vnawire::extract::article_to_json(vnawire::extract::extract_text_dispatch(sample.body));
    records.push_back(std::move(record));
  }
  std::uint64_t n = 0;
  std::size_t bytes = 0;
  const double written_before = written_bytes();
  for (auto _ : state) {
    vnawire::runtime::Document document;
    // Ids in no order, as the fetch stage's (hashes of URLs) are: each document's rows land on pages all
    // over the keyed tables, where ordered ids would fill their last pages one after the other.
    char id[24];
    std::snprintf(id, sizeof id, "b-%016llx", static_cast<unsigned long long>((n + 1) * 0x9e3779b97f4a7c15ULL));
    document.header.id = id;
    document.record = records[n % records.size()];
    document.record["id"] = document.header.id;
    bytes += document.record["body"].get_ref<const std::string&>().size();
    benchmark::DoNotOptimize(stage->on_message(document));
    if (++n % 1000 == 0 && !stage->flush().ok()) state.SkipWithError("flush failed");
  }
  (void)stage->flush();
  // What the sink's files cost beyond their size shows here first (journals, rewritten pages).
  state.counters["written_kb_per_doc"] = (written_bytes() - written_before) / 1024.0 / static_cast<double>(n);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  stage.reset();
  std::filesystem::remove_all(dir);
}

// range(0): 0 SQLite, 1 JSONL.
void BM_Sink(benchmark::State& state) {
  run_sink(state, state.range(0) == 0 ? vnawire::sink::sqlite_descriptor() : vnawire::sink::jsonl_descriptor(), "{}");
}
BENCHMARK(BM_Sink)->Arg(0)->Arg(1)->Iterations(20000)->Unit(benchmark::kMicrosecond);

// The PostgreSQL sink against a private cluster on a Unix socket (fsync on, as a server would run),
// each run in a fresh schema; range(0) is batch_size. Real time: the server's work is in its own process.
void BM_SinkPostgres(benchmark::State& state) {
  static vnawire::testing::PgCluster cluster(/*fsync=*/true);
  if (!cluster.running()) {
    state.SkipWithError(("no PostgreSQL cluster: " + cluster.error()).c_str());
    return;
  }
  static int run = 0;
  run_sink(state, vnawire::sink::postgres_descriptor(),
           "{dsn: '" + cluster.dsn() + "', schema: bench" + std::to_string(run++) +
               ", batch_size: " + std::to_string(state.range(0)) + "}");
}
BENCHMARK(BM_SinkPostgres)->Arg(1)->Arg(50)->Arg(500)->Iterations(5000)->UseRealTime()->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_CodecRoundTrip);
BENCHMARK(BM_CodecEncode);
BENCHMARK(BM_NlohmannDump);
BENCHMARK(BM_CodecDecode);
BENCHMARK(BM_DedupeFingerprint);
BENCHMARK(BM_LangidDetect);
BENCHMARK(BM_LangidIdentify);
BENCHMARK(BM_LangidIdentifyTitles);
BENCHMARK(BM_LangidNgram);
BENCHMARK(BM_ExtractText);
BENCHMARK(BM_ExtractEntitiesEventsQuotes);
BENCHMARK(BM_ExtractHtml);
BENCHMARK(BM_FetchDecodeBody);
BENCHMARK(BM_FetchParseFeed100);

}  // namespace

BENCHMARK_MAIN();
