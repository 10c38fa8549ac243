// `vnawire dead-letters`: list, show, replay and purge what the stages could not handle (docs/dead-letters.md).
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/commands.h"
#include "stages/registry.h"
#include "stages/runtime/codec.h"
#include "stages/runtime/dead_letter_store.h"
#include "stages/runtime/pipeline_config.h"
#include "stages/runtime/replay_spool.h"

namespace vnawire::daemon {
namespace {

constexpr const char* kUsage = R"(usage: vnawire dead-letters (--config FILE | --state-dir DIR) [--json] COMMAND
  list [--stage S] [--since TIME] [--before TIME] [--reason-contains TEXT] [--limit N]
                                one row per record (key, time, stage, id, attempt, reason), then counts
                                per stage and per reason
  show KEY                      the whole record, header and payload decoded (KEY: a unique prefix, 4+ digits)
  replay [KEY...] [filters] [--all]
                                send the records into the pipeline again: a source stage picks them up from
                                <state_dir>/replay/, now or at the next start, with attempt + 1
  purge [KEY...] [filters] [--all]
                                remove the records for good
TIME: UTC, ISO-8601 or a prefix of it (2026-12-02, 2026-12-02T14:30). Exit 0 ok, 1 nothing matched, 2 usage.
)";

constexpr std::size_t kReasonWidth = 60;

int usage(const std::string& why) {
  if (!why.empty()) std::cerr << "vnawire dead-letters: " << why << "\n";
  std::cerr << kUsage;
  return 2;
}

struct Filters {
  std::vector<std::string> keys;
  const std::string *stage = nullptr, *since = nullptr, *before = nullptr, *reason = nullptr;
  bool any() const { return !keys.empty() || stage || since || before || reason; }
  bool keep(const runtime::StoredDeadLetter& stored) const {
    const auto& letter = stored.letter;
    if (stage && letter.stage != *stage) return false;
    if (since && letter.time < *since) return false;
    if (before && letter.time >= *before) return false;
    if (reason && letter.reason.find(*reason) == std::string::npos) return false;
    if (keys.empty()) return true;
    return std::any_of(keys.begin(), keys.end(), [&](const std::string& key) { return letter.key.starts_with(key); });
  }
};

bool is_time(const std::string& text) {
  return text.size() >= 4 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == 'T' || c == '.' ||
                  c == 'Z';
         });
}

std::string cut(const std::string& text, std::size_t width) {
  if (text.size() <= width) return text;
  std::size_t at = width - 1;
  while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;  // a code point boundary
  return text.substr(0, at) + "…";
}

std::string attempt_text(const runtime::DeadLetter& letter) {
  return letter.attempt < 0 ? "-" : std::to_string(letter.attempt);
}

nlohmann::json summary_of(const runtime::StoredDeadLetter& stored) {
  const auto& letter = stored.letter;
  return {
      {"key", letter.key},       {"file", stored.file.string()},
      {"line", stored.line},     {"time", letter.time},
      {"stage", letter.stage},   {"replica", letter.replica},
      {"id", letter.id},         {"attempt", letter.attempt < 0 ? nlohmann::json() : nlohmann::json(letter.attempt)},
      {"reason", letter.reason}, {"verified", letter.verified}};
}

// A frame for people: a JSON payload indented, anything else as it is.
std::string readable(const std::string& frame) {
  auto json = nlohmann::json::parse(frame, nullptr, false);
  if (!json.is_discarded() && json.is_structured())
    return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  return runtime::is_valid_utf8(frame) ? frame : "(" + std::to_string(frame.size()) + " bytes, not UTF-8)";
}

int list(const std::vector<const runtime::StoredDeadLetter*>& selected, bool json, std::size_t limit) {
  const std::size_t shown = std::min(limit, selected.size());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < shown; ++i) out.push_back(summary_of(*selected[i]));
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cout << "key               time                      stage        id                        attempt  reason\n";
  std::map<std::string, std::size_t> per_stage, per_reason;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const auto& letter = selected[i]->letter;
    ++per_stage[letter.stage];
    ++per_reason[cut(letter.reason, kReasonWidth)];
    if (i >= shown) continue;
    char row[256];
    std::snprintf(row, sizeof row, "%-16s  %-24s  %-11s  %-24s  %7s  ", letter.key.c_str(), letter.time.c_str(),
                  letter.stage.c_str(), cut(letter.id.empty() ? "-" : letter.id, 24).c_str(),
                  attempt_text(letter).c_str());
    std::cout << row << cut(letter.reason, kReasonWidth) << (letter.verified ? "" : "  (v1, unverified)") << "\n";
  }
  if (shown < selected.size()) std::cout << "(" << selected.size() - shown << " more not shown; see --limit)\n";
  std::cout << selected.size() << " record(s)\nper stage:\n";
  for (const auto& [stage, n] : per_stage) std::cout << "  " << n << "  " << stage << "\n";
  std::cout << "per reason:\n";
  for (const auto& [reason, n] : per_reason) std::cout << "  " << n << "  " << reason << "\n";
  return 0;
}

int show(const runtime::StoredDeadLetter& stored, bool json) {
  const auto& letter = stored.letter;
  if (json) {
    nlohmann::json out = summary_of(stored);
    out["header"] = runtime::is_valid_utf8(letter.header) ? letter.header : runtime::base64_encode(letter.header);
    auto payload = nlohmann::json::parse(letter.payload, nullptr, false);
    out["payload"] = payload.is_discarded() ? nlohmann::json(runtime::is_valid_utf8(letter.payload)
                                                                 ? letter.payload
                                                                 : runtime::base64_encode(letter.payload))
                                            : payload;
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << "key:      " << letter.key << (letter.verified ? " (checksum verified)" : " (v1 line, no checksum)")
            << "\nfile:     " << stored.file.string() << ":" << stored.line << "\ntime:     " << letter.time
            << "\nstage:    " << letter.stage << " (replica " << letter.replica << ")"
            << "\nid:       " << letter.id << "\nattempt:  " << attempt_text(letter) << "\nreason:   " << letter.reason
            << "\nheader:   " << readable(letter.header) << "\npayload:\n"
            << readable(letter.payload) << "\n";
  return 0;
}

// The first source stage upstream of `stage` ("" when unknown): the one whose consumers lead back to it.
std::string source_of(const runtime::PipelineConfig* config, const std::string& stage) {
  if (config == nullptr) return "";
  std::vector<std::string> frontier{stage};
  std::set<std::string> seen;
  while (!frontier.empty()) {
    const std::string name = frontier.front();
    frontier.erase(frontier.begin());
    const runtime::StageConfig* found = config->find(name);
    if (found == nullptr || !seen.insert(name).second) continue;
    if (found->inputs.empty()) return name;
    frontier.insert(frontier.end(), found->inputs.begin(), found->inputs.end());
  }
  return "";
}

// A replay is a spool file of the records' lines as stored, one per source stage when the config says which
// source feeds the stage that dead-lettered each (else one that any source takes); the store keeps them in
// replayed/ after.
int replay(const std::filesystem::path& state_dir, const runtime::PipelineConfig* config,
           const std::vector<const runtime::StoredDeadLetter*>& selected) {
  std::map<std::string, std::string> spools;  // source stage ("" for any) -> lines
  std::set<std::string> keys;
  for (const auto* stored : selected) {
    if (!runtime::decode(stored->letter.header, stored->letter.payload)) {
      std::cerr << stored->letter.key << ": not replayable: it holds no whole document (a source's input it could "
                << "not read: fix the input instead)\n";
      continue;
    }
    spools[source_of(config, stored->letter.stage)] += stored->text + "\n";
    keys.insert(stored->letter.key);
  }
  if (keys.empty()) {
    std::cerr << "vnawire dead-letters: nothing to replay\n";
    return 1;
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string stamp = runtime::iso_time(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  std::replace(stamp.begin(), stamp.end(), ':', '-');
  std::string queued;
  for (const auto& [source, lines] : spools) {
    const auto folder = runtime::replay_spool_dir(state_dir) / source;
    const auto file = folder / (stamp + "-" + std::to_string(::getpid()) + ".jsonl");
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (auto written = runtime::write_file_atomically(file, lines); !written) {
      std::cerr << "vnawire dead-letters: " << written.message() << "\n";
      return 1;
    }
    queued += (queued.empty() ? "" : ", ") + file.string();
  }
  const auto store = state_dir / "deadletter";
  auto removed = runtime::remove_dead_letters(store, keys, store / "replayed");
  if (!removed) {
    std::cerr << "vnawire dead-letters: " << removed.error() << " (the replay is queued all the same)\n";
    return 1;
  }
  std::cout << "replaying " << keys.size() << " record(s): queued in " << queued
            << "; a source stage sends them when the pipeline runs (kept in " << (store / "replayed").string() << ")\n";
  return 0;
}

}  // namespace

int cmd_dead_letters(const Args& args) {
  ParsedArgs parsed;
  if (!parse_args(args,
                  {"--config", "-c", "--state-dir", "--stage", "--since", "--before", "--reason-contains", "--limit"},
                  {"--json", "--all"}, parsed, "dead-letters")) {
    return 2;
  }
  if (parsed.positional.empty()) return usage("");
  const std::string verb = parsed.positional[0];
  std::filesystem::path state_dir;
  runtime::LoadedConfig loaded;
  if (const std::string* dir = parsed.get("--state-dir")) {
    state_dir = *dir;
  } else if (const std::string* config = parsed.get("--config") ? parsed.get("--config") : parsed.get("-c")) {
    loaded = runtime::load_pipeline_config(*config, [](const std::string& type) { return stages::find_stage(type); });
    for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
    if (!loaded.ok()) return 2;
    state_dir = loaded.config.state_dir;
  } else {
    return usage("give --config FILE or --state-dir DIR");
  }
  const auto store = state_dir / "deadletter";
  if (!std::filesystem::is_directory(state_dir)) {
    std::cerr << "vnawire dead-letters: no state folder " << state_dir.string() << "\n";
    return 2;
  }
  Filters filters;
  filters.keys.assign(parsed.positional.begin() + 1, parsed.positional.end());
  filters.stage = parsed.get("--stage");
  filters.since = parsed.get("--since");
  filters.before = parsed.get("--before");
  filters.reason = parsed.get("--reason-contains");
  for (const std::string* time : {filters.since, filters.before}) {
    if (time && !is_time(*time)) return usage("'" + *time + "' is not a UTC time such as 2026-12-02T14:30");
  }
  for (auto& key : filters.keys) {
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    if (key.size() < 4 || key.size() > 16 || key.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return usage("'" + key + "' is not a record key (4 to 16 hex digits, as `list` shows)");
    }
  }
  std::size_t limit = static_cast<std::size_t>(-1);
  if (const std::string* given = parsed.get("--limit")) {
    if (given->empty() || !std::all_of(given->begin(), given->end(), ::isdigit)) {
      return usage("--limit takes a number, not '" + *given + "'");
    }
    limit = std::stoul(*given);
  }

  const runtime::DeadLetterScan scan = runtime::scan_dead_letters(store);
  for (const auto& line : scan.set_aside) std::cerr << line.to_string() << "\n";
  std::vector<const runtime::StoredDeadLetter*> selected;
  for (const auto& stored : scan.letters) {
    if (filters.keep(stored)) selected.push_back(&stored);
  }
  const bool json = parsed.has("--json");
  if (verb == "list") return list(selected, json, limit);
  if (verb == "show") {
    if (filters.keys.size() != 1) return usage("show takes one KEY");
    if (selected.empty()) {
      std::cerr << "vnawire dead-letters: no record with key " << filters.keys[0] << " in " << store.string() << "\n";
      return 1;
    }
    if (selected.size() > 1) return usage("key " + filters.keys[0] + " is ambiguous: give more digits");
    return show(*selected.front(), json);
  }
  if (verb != "replay" && verb != "purge") return usage("unknown command '" + verb + "'");
  if (!filters.any() && !parsed.has("--all")) return usage(verb + " needs KEYs, a filter or --all");
  if (selected.empty()) {
    std::cerr << "vnawire dead-letters: no record matches\n";
    return 1;
  }
  if (verb == "replay")
    return replay(state_dir, loaded.ok() && !loaded.config.stages.empty() ? &loaded.config : nullptr, selected);
  std::set<std::string> keys;
  for (const auto* stored : selected) keys.insert(stored->letter.key);
  auto removed = runtime::remove_dead_letters(store, keys, "");
  if (!removed) {
    std::cerr << "vnawire dead-letters: " << removed.error() << "\n";
    return 1;
  }
  std::cout << "purged " << removed.value() << " record(s)\n";
  return 0;
}

}  // namespace vnawire::daemon
