// `vnawire fetch URL...`: the fetch stage's engine run standalone, documents as JSON Lines on stdout.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>

#include "daemon/commands.h"
#include "stages/fetch/fetch_config.h"
#include "stages/fetch/fetch_engine.h"
#include "stages/fetch/fetch_url.h"

namespace vnawire::daemon {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

// Writes each document as one line and tells the engine at once that it left.
class StdoutEmitter final : public runtime::Emitter {
 public:
  explicit StdoutEmitter(fetch::FetchEngine& engine) : engine_(engine) {}
  void emit(runtime::Document document) override {
    std::cout << document.record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    ++emitted_;
    engine_.on_sent(document);
  }
  std::uint64_t emitted() const { return emitted_; }

 private:
  fetch::FetchEngine& engine_;
  std::uint64_t emitted_ = 0;
};

}  // namespace

int cmd_fetch(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args, {"--state-dir", "--interval"}, {"--follow", "--allow-private", "-v", "--verbose"}, parsed,
                  "fetch")) {
    return 2;
  }
  if (parsed.positional.empty()) {
    std::cerr << "usage: vnawire fetch [--follow] [--allow-private] [--state-dir DIR] [--interval SECONDS] URL...\n";
    return 2;
  }
  for (const auto& url : parsed.positional) {
    if (!fetch::is_http_url(url)) {
      std::cerr << "vnawire fetch: '" << url << "' is not an absolute http(s) URL\n";
      return 2;
    }
  }
  double interval_s = 300;
  if (const std::string* text = parsed.get("--interval")) {
    try {
      interval_s = std::stod(*text);
    } catch (const std::exception&) {
      interval_s = -1;
    }
    if (interval_s < 0.05) {
      std::cerr << "vnawire fetch: --interval must be a number of seconds, at least 0.05\n";
      return 2;
    }
  }
  const bool follow = parsed.has("--follow");
  const bool verbose = parsed.has("-v") || parsed.has("--verbose");
  auto settings = fetch::command_line_settings(
      parsed.positional, parsed.has("--allow-private"),
      std::chrono::milliseconds(static_cast<std::int64_t>(interval_s * 1000)));

  std::filesystem::path state_dir;
  std::filesystem::path scratch;
  if (const std::string* dir = parsed.get("--state-dir")) {
    state_dir = *dir;
  } else {
    scratch = state_dir = make_scratch_dir("fetch");
    if (state_dir.empty()) return 2;
  }

  std::map<std::string, std::uint64_t> counters;
  std::uint64_t problems = 0;
  fetch::FetchHooks hooks;
  hooks.count = [&](const std::string& counter, std::uint64_t n) {
    counters[counter] += n;
    if (verbose && counter.ends_with(".pages")) std::cerr << "." << std::flush;
  };
  hooks.warn = [&](const std::string& source, const std::string& message) {
    ++problems;
    std::cerr << "vnawire fetch: " << source << ": " << message << "\n";
  };
  hooks.dead_letter = [&](const std::string& reason, const std::string&, const std::string&) {
    ++problems;
    std::cerr << "vnawire fetch: skipped: " << reason << "\n";
  };

  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::ios::sync_with_stdio(false);

  int code = 0;
  {
    fetch::FetchEngine engine(std::move(settings), "fetch", state_dir, std::move(hooks));
    if (auto status = engine.start(); !status) {
      std::cerr << "vnawire fetch: " << status.message() << "\n";
      code = 2;
    } else {
      StdoutEmitter out(engine);
      while (!g_stop) {
        auto wait = engine.produce(out, 64);
        std::cout.flush();
        if (!follow && engine.finished()) break;
        if (wait.count() > 0) ::poll(nullptr, 0, static_cast<int>(std::min<std::int64_t>(wait.count(), 200)));
      }
      (void)engine.flush();
      std::cout.flush();
      std::cerr << "vnawire fetch: " << out.emitted() << " document(s)";
      for (const auto& [name, value] : counters) {
        if (name.ends_with(".pages") || name.ends_with(".items_new") || name.ends_with(".not_modified") ||
            name.find(".errors.") != std::string::npos || name == "robots_disallowed" || name.ends_with(".gave_up")) {
          std::cerr << ", " << name << " " << value;
        }
      }
      std::cerr << "\n";
      if (out.emitted() == 0 && problems > 0) code = 1;
    }
  }
  if (!scratch.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  return code;
}

}  // namespace vnawire::daemon
