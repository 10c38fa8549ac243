// `vnawire demo`: the full multi-process pipeline on the embedded sample dispatches, into SQLite.
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>

#include "daemon/commands.h"
#include "daemon/progress_bar.h"
#include "daemon/replay_server.h"
#include "daemon/supervisor.h"
#include "stages/registry.h"

namespace vnawire::samples {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_samples();
}

namespace vnawire::daemon {
namespace {

constexpr const char* kMarker = ".vnawire-demo";
constexpr int kMetricsPort = 9464;

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A run of `count` free loopback ports, for when the state folder's path is too long for ipc:// sockets.
int find_free_ports(int count) {
  std::mt19937 random(static_cast<unsigned>(::getpid()));
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int base = 20000 + static_cast<int>(random() % 40000);
    bool all = true;
    for (int p = base; p < base + count && all; ++p) all = port_free(p);
    if (all) return base;
  }
  return -1;
}

// Empties a previous demo's state folder; refuses a folder that is not one, so no user data is removed.
bool prepare_state_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec)) {
      std::cerr << "vnawire demo: " << dir.string() << " exists and is not a folder\n";
      return false;
    }
    const bool empty = std::filesystem::is_empty(dir, ec);
    if (!empty && !std::filesystem::exists(dir / kMarker, ec)) {
      std::cerr << "vnawire demo: " << dir.string()
                << " is not empty and was not made by vnawire demo; choose another --state-dir\n";
      return false;
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) std::filesystem::remove_all(entry, ec);
  }
  std::filesystem::create_directories(dir / "inbox", ec);
  std::filesystem::create_directories(dir / "site", ec);
  if (ec) {
    std::cerr << "vnawire demo: cannot create " << (dir / "inbox").string() << ": " << ec.message() << "\n";
    return false;
  }
  std::ofstream(dir / kMarker) << "This folder was written by `vnawire demo` and is emptied by its next run.\n";
  return true;
}

// Where the demo serves its metrics: 127.0.0.1:9464 as documented, or a free port when something (the service,
// another demo) has it, so that a demo never fails for want of a port. "" leaves the choice to
// $VNAWIRE_METRICS_ADDRESS, which the config loader reads.
std::string demo_metrics_address() {
  if (std::getenv("VNAWIRE_METRICS_ADDRESS") != nullptr) return "";
  const int port = port_free(kMetricsPort) ? kMetricsPort : find_free_ports(1);
  return port > 0 ? "127.0.0.1:" + std::to_string(port) : "off";
}

std::string demo_config(const std::filesystem::path& dir, int tcp_base, const std::string& site_url,
                        const std::string& metrics_address) {
  std::ostringstream yaml;
  yaml << "# Written by `vnawire demo`: the full pipeline on the embedded samples.\n"
       << "pipeline:\n"
       << "  state_dir: " << dir.string() << "\n"
       << "  log_level: warn\n"
       << "  flush_interval_ms: 200\n"
       << "  heartbeat_ms: 500\n";
  if (tcp_base > 0) yaml << "  transport: tcp\n  tcp_base_port: " << tcp_base << "\n";
  if (!metrics_address.empty()) yaml << "  metrics_address: \"" << metrics_address << "\"\n";
  yaml << "stages:\n"
       << "  - name: fetch\n    type: fetch\n"
       << "    options:\n"
       << "      per_host_interval_ms: 0\n      per_host_in_flight: 8\n"
       << "      sources:\n"
       << "        - {name: replay-site, kind: site, url: '" << site_url
       << "/', interval_ms: 1000, allow_private: true}\n"
       << "        - {name: inbox, kind: directory, path: inbox, interval_ms: 200, settle_ms: 100}\n"
       << "  - name: dedupe\n    type: dedupe\n    inputs: [fetch]\n"
       << "  - name: langid\n    type: langid\n    inputs: [dedupe]\n"
       << "  - name: extract\n    type: extract\n    replicas: 2\n    inputs: [langid]\n"
       << "  - name: store\n    type: sink_sqlite\n    inputs: [extract]\n    options: {path: demo.db}\n";
  return yaml.str();
}

// Terminal columns a code point takes: East Asian wide characters take two.
std::size_t columns_of(char32_t cp) {
  const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                    (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6);
  return wide ? 2 : 1;
}

// A table cell `width` columns wide: cut on a character boundary with an ellipsis, then padded.
std::string cell(const unsigned char* text, std::size_t width) {
  const std::string s = text ? reinterpret_cast<const char*>(text) : "-";
  std::string out;
  std::size_t used = 0, i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    char32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (std::size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    const std::size_t w = columns_of(cp);
    if (used + w > width) {
      out += "…";
      ++used;
      break;
    }
    out.append(s, i, len);
    used += w;
    i += len;
  }
  return out + std::string(width + 1 > used ? width + 1 - used : 1, ' ');
}

void print_table(const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::cout << "(cannot open " << db_path.string() << ")\n";
    sqlite3_close(db);
    return;
  }
  sqlite3_stmt* query = nullptr;
  const char* sql =
      "SELECT COALESCE(published, dateline_date), dateline_place, lang, title FROM documents "
      "ORDER BY lang, COALESCE(published, dateline_date), title";
  if (sqlite3_prepare_v2(db, sql, -1, &query, nullptr) == SQLITE_OK) {
    std::cout << "\n"
              << cell(reinterpret_cast<const unsigned char*>("date"), 11)
              << cell(reinterpret_cast<const unsigned char*>("place"), 14)
              << cell(reinterpret_cast<const unsigned char*>("lang"), 4) << "title\n";
    while (sqlite3_step(query) == SQLITE_ROW) {
      std::cout << cell(sqlite3_column_text(query, 0), 11) << cell(sqlite3_column_text(query, 1), 14)
                << cell(sqlite3_column_text(query, 2), 4) << cell(sqlite3_column_text(query, 3), 70) << "\n";
    }
  }
  sqlite3_finalize(query);
  sqlite3_close(db);
}

// What the demo has finished with: stored by the sink, or dropped or dead-lettered on the way.
std::uint64_t documents_done(const PipelineTotals& totals, const std::string& sink) {
  const auto it = totals.stages.find(sink);
  if (it == totals.stages.end()) return 0;
  std::uint64_t done = it->second.forwarded;
  for (const auto& [name, stage] : totals.stages) done += stage.dropped + stage.dead_lettered;
  return done;
}

}  // namespace

int cmd_demo(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {"--state-dir"}, {"--follow"}, parsed, "demo")) return 2;
  const bool follow = parsed.has("--follow");
  const std::string* given = parsed.get("--state-dir");
  const std::filesystem::path dir =
      std::filesystem::absolute(given ? std::filesystem::path(*given) : std::filesystem::path("vnawire-demo"))
          .lexically_normal();
  std::cout << "vnawire demo: state directory " << dir.string() << "\n";
  if (!prepare_state_dir(dir)) return 1;

  const auto& samples = samples::embedded_samples();
  for (const auto& [name, content] : samples) {
    std::ofstream out(dir / "site" / std::string(name), std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  // The samples are served as a small news site on loopback, so the real fetch stage discovers its feed and
  // sitemaps and fetches every article over HTTP. With --follow the site grows by one article every 2 s.
  replay::ReplaySettings site;
  site.directory = dir / "site";
  if (follow) site.release_every = std::chrono::milliseconds(2000);
  replay::ReplayServer server(site);
  if (auto status = server.start(); !status) {
    std::cerr << "vnawire demo: cannot start the replay site: " << status.message() << "\n";
    return 1;
  }
  std::cout << "vnawire demo: " << samples.size() << " sample dispatches served as a news site at " << server.base_url()
            << "/ (from " << (dir / "site").string() << ")\n";

  // sockaddr_un paths are short: fall back to loopback TCP when the state folder is deeply nested.
  const bool ipc_fits = (dir / "run" / "extract.1.to.store").string().size() + 6 < 100;
  const int tcp_base = ipc_fits ? 0 : find_free_ports(8);
  if (!ipc_fits && tcp_base < 0) {
    std::cerr << "vnawire demo: the state folder's path is too long for ipc sockets and no free tcp ports\n";
    return 1;
  }
  const auto config_path = dir / "demo.yaml";
  const std::string metrics_address = demo_metrics_address();
  std::ofstream(config_path) << demo_config(dir, tcp_base, server.base_url(), metrics_address);
  if (!metrics_address.empty() && metrics_address != "off") {
    std::cout << "vnawire demo: metrics at http://" << metrics_address << "/metrics (vnawire status --address "
              << metrics_address << " --watch)\n";
  }
  auto loaded = runtime::load_pipeline_config(config_path.string(),
                                              [](const std::string& type) { return stages::find_stage(type); });
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
    return 1;
  }

  SupervisorOptions options;
  options.executable = self_executable();
  options.config_path = config_path.string();
  options.base_dir = dir;
  const std::uint64_t expected = samples.size();
  // With --follow there is no end to measure against: the bar is for the one-off run.
  ProgressBar progress("vnawire demo", ProgressUnit::Documents, STDERR_FILENO, 5000);
  options.progress_interval_ms = follow ? 2000 : 10000;
  if (!follow) {
    options.on_display = [&progress, expected](const PipelineTotals& totals) {
      progress.update(documents_done(totals, "store"), expected);
    };
  }
  if (!follow) {
    options.stop_when = [expected](const PipelineTotals& totals) {
      const StageTotals& fetch = totals.stages.at("fetch");
      return fetch.forwarded + fetch.dead_lettered >= expected && totals.quiescent;
    };
  } else {
    std::cout << "vnawire demo: following the site (one more article every 2 s) and " << (dir / "inbox").string()
              << " (drop .txt or .html files there; Ctrl-C stops)\n";
  }
  Supervisor supervisor(loaded.config, options);
  const int code = supervisor.run();
  progress.finish();
  const PipelineTotals totals = supervisor.totals();

  std::cout << "\ndocuments per stage (in -> out):\n";
  for (const auto& stage : loaded.config.stages) {
    const StageTotals& s = totals.stages.at(stage.name);
    std::cout << "  " << std::left << std::setw(8) << stage.name << " x" << stage.replicas << "  " << std::right
              << std::setw(4) << s.received << " -> " << std::setw(4) << s.forwarded;
    if (s.dropped) std::cout << "   dropped " << s.dropped;
    if (s.dead_lettered) std::cout << "   dead-lettered " << s.dead_lettered;
    std::cout << "\n";
  }
  const StageTotals& dedupe = totals.stages.at("dedupe");
  std::cout << "duplicates dropped: " << dedupe.dropped << "\nlanguages:";
  for (const auto& [key, value] : totals.stages.at("langid").counters) {
    if (key.rfind("lang.", 0) == 0) std::cout << " " << key.substr(5) << "=" << value;
  }
  std::cout << "\n";
  print_table(dir / "demo.db");
  std::cout << "\nrecords: " << (dir / "demo.db").string() << " (table documents; the full record is in column "
            << "`record`)\ndead letters: " << (dir / "deadletter").string() << "\n";
  return code;
}

}  // namespace vnawire::daemon
