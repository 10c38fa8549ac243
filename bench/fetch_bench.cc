// Fetch stage figures: pages/s against the replay server on loopback with many requests in flight, and the
// memory of the fetcher once its state holds many seen entries.
// usage: vnawire_fetch_bench throughput [PAGES=3000] [IN_FLIGHT=64]
//        vnawire_fetch_bench memory [SEEN=10000]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "daemon/replay_server.h"
#include "stages/fetch/fetch_engine.h"
#include "stages/fetch/fetch_stage.h"
#include "stages/fetch/fetch_state.h"

namespace {

using namespace vnawire;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// Resident and peak resident memory of this process, in KiB (from /proc/self/status).
std::pair<long, long> memory_kib() {
  std::ifstream status("/proc/self/status");
  long rss = 0, peak = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) peak = std::stol(line.substr(6));
  }
  return {rss, peak};
}

class Counting final : public runtime::Emitter {
 public:
  explicit Counting(fetch::FetchEngine& engine) : engine_(engine) {}
  void emit(runtime::Document document) override {
    ++count;
    engine_.on_sent(document);
  }
  std::size_t count = 0;

 private:
  fetch::FetchEngine& engine_;
};

std::filesystem::path scratch() {
  char pattern[] = "/tmp/vnawire-fetch-bench-XXXXXX";
  return ::mkdtemp(pattern);
}

void write_site(const std::filesystem::path& site, int pages) {
  std::filesystem::create_directories(site);
  std::string paragraph;
  for (int i = 0; i < 60; ++i) paragraph += "coopération commerce délégation ministre province ";
  for (int i = 0; i < pages; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "p%06d.txt", i);
    std::ofstream(site / name) << "Dépêche " << i << "\n\nHanoï (VNA) - " << paragraph << "\n\n" << paragraph
                               << "\n-VNA\n";
  }
}

fetch::FetchSettings settings_for(const std::string& url, int in_flight) {
  fetch::FetchSettings settings;
  fetch::WebSource source;
  source.name = "bench";
  source.kind = "feed";
  source.url = url;
  source.interval = milliseconds(3600000);
  source.allow_private = true;
  settings.web.push_back(source);
  settings.crawl.max_in_flight = in_flight;
  settings.crawl.per_host_in_flight = in_flight;
  settings.crawl.per_host_interval = milliseconds(0);
  return settings;
}

fetch::FetchHooks quiet_hooks() {
  fetch::FetchHooks hooks;
  hooks.count = [](const std::string&, std::uint64_t) {};
  hooks.warn = [](const std::string& source, const std::string& message) {
    std::cerr << source << ": " << message << "\n";
  };
  hooks.dead_letter = [](const std::string& reason, const std::string&, const std::string&) {
    std::cerr << "dead letter: " << reason << "\n";
  };
  return hooks;
}

int throughput(int pages, int in_flight) {
  const auto dir = scratch();
  write_site(dir / "site", pages);
  replay::ReplaySettings replay_settings;
  replay_settings.directory = dir / "site";
  replay::ReplayServer server(replay_settings);
  if (auto status = server.start(); !status) {
    std::cerr << status.message() << "\n";
    return 1;
  }
  fetch::FetchEngine engine(settings_for(server.base_url() + "/rss.xml", in_flight), "fetch", dir / "state",
                            quiet_hooks());
  if (auto status = engine.start(); !status) {
    std::cerr << status.message() << "\n";
    return 1;
  }
  Counting out(engine);
  const auto start = Steady::now();
  while (!engine.finished()) engine.produce(out, 256);
  const double seconds = std::chrono::duration<double>(Steady::now() - start).count();
  std::printf("fetch throughput: %zu pages in %.2f s = %.0f pages/s (%d in flight; server peak in flight %llu; "
              "client and replay server share this machine)\n",
              out.count, seconds, static_cast<double>(out.count) / seconds, in_flight,
              static_cast<unsigned long long>(server.max_in_flight()));
  std::filesystem::remove_all(dir);
  return out.count == static_cast<std::size_t>(pages) ? 0 : 1;
}

int memory(std::size_t seen) {
  const auto dir = scratch();
  {
    // An earlier run's state: `seen` emitted items.
    fetch::FetchState state;
    if (auto status = state.open(dir / "state" / "fetch-state.sqlite"); !status) {
      std::cerr << status.message() << "\n";
      return 1;
    }
    for (std::size_t i = 0; i < seen; ++i) {
      const std::string url = "https://fr.example.invalid/article-" + std::to_string(i) + ".vnp";
      fetch::Item item;
      item.id = fetch::document_id_for(url);
      item.url = url;
      item.source = "bench";
      (void)state.put(item, false);
      (void)state.mark_emitted(item.id, 1, "0123456789abcdef", "\"etag\"", "Mon, 30 Nov 2026 10:00:00 GMT");
      if (i % 50000 == 0) (void)state.commit();
    }
    (void)state.commit();
  }
  const auto before = memory_kib();
  write_site(dir / "site", 200);
  replay::ReplaySettings replay_settings;
  replay_settings.directory = dir / "site";
  replay::ReplayServer server(replay_settings);
  if (auto status = server.start(); !status) return 1;
  fetch::FetchEngine engine(settings_for(server.base_url() + "/rss.xml", 16), "fetch", dir / "state", quiet_hooks());
  if (auto status = engine.start(); !status) {
    std::cerr << status.message() << "\n";
    return 1;
  }
  Counting out(engine);
  while (!engine.finished()) engine.produce(out, 256);
  const auto after = memory_kib();
  std::error_code ec;
  const auto db_size = std::filesystem::file_size(dir / "state" / "fetch-state.sqlite", ec);
  std::printf("fetch memory with %zu seen entries: RSS %ld KiB after a poll round of 200 new pages (peak %ld KiB; "
              "%ld KiB before the engine started); state file %.1f MiB\n",
              seen, after.first, after.second, before.first, static_cast<double>(db_size) / (1 << 20));
  std::filesystem::remove_all(dir);
  return out.count == 200 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "throughput";
  if (mode == "throughput") return throughput(argc > 2 ? std::stoi(argv[2]) : 3000, argc > 3 ? std::stoi(argv[3]) : 64);
  if (mode == "memory") return memory(argc > 2 ? std::stoul(argv[2]) : 10000);
  std::cerr << "usage: vnawire_fetch_bench throughput [PAGES] [IN_FLIGHT] | memory [SEEN]\n";
  return 2;
}
