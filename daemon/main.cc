// vnawire's entry point: one binary for the daemon, every stage process and the standalone filters.
#include <cstring>
#include <iostream>

#include "daemon/allocator.h"
#include "daemon/commands.h"

namespace {

constexpr const char* kUsage = R"(usage: vnawire <command> [options]

Pipeline:
  run -c FILE [--no-progress] start the pipeline described by FILE and supervise it until SIGTERM; a
                              WARC backfill shows a progress bar on a terminal (not with --no-progress)
  check-config FILE           validate FILE (keys, types, graph) without starting anything
  run -c FILE --host HOST      on another host: run the stages placed there (`host: HOST`), reporting to
                              the main daemon over tcp (docs/operations.md, "Across hosts")
  keygen [--out DIR] [--name NAME] [--force]
                              write a CURVE key pair, DIR/NAME.public and DIR/NAME.secret (mode 0600)
  describe                    list every stage type and its options
  demo [--state-dir DIR] [--follow]
                              run the full pipeline on the embedded sample dispatches
  status [--address HOST:PORT] [--watch [SECONDS]]
                              the running pipeline at a glance from the daemon's metrics_address (default
                              127.0.0.1:9464): stages, replicas, rates, errors, last document; --watch
                              refreshes in place until Ctrl-C (docs/metrics.md)

Sources:
  fetch [--follow] [--allow-private] [--state-dir DIR] [--interval S] URL...
                              discover and fetch a site's dispatches (or a feed's, a sitemap's) once, or keep
                              tailing with --follow; documents as JSON Lines on stdout

Filters (JSON Lines records on stdin, processed records on stdout):
  extract                     add the article (title, lead, dates, dateline, body, captions, related)
  langid                      add lang.code and lang.confidence
  dedupe [--state-dir DIR] [--options YAML]
                              add dedupe.status, dedupe.of and dedupe.similarity (tags, never drops)

Results:
  query --db FILE [--json] [--limit N] search TEXT | person NAME | between CC CC [--from D] [--to D]
                              ask the sink_sqlite database: full text, a person's appearances and events,
                              events between two countries (docs/sinks.md)

  dead-letters (--config FILE | --state-dir DIR) [--json] list|show KEY|replay|purge [KEY...] [--stage S]
         [--since T] [--before T] [--reason-contains TEXT] [--limit N] [--all]
                              what the stages could not handle: list or show it, send it again into the
                              pipeline (through its source stage) or remove it (docs/dead-letters.md)

Testing:
  replay --dir DIR [--listen HOST:PORT] [--every S] [--fault SPEC]... [--disallow PREFIX]... [--crawl-delay S]
         [--threads N] [--log-level L]
                              serve DIR as a small news site (home, RSS, Atom, sitemaps, articles) with
                              injected faults, until SIGINT/SIGTERM (docs/replay.md)

Other:
  stage --config F --stage NAME --replica N [--base-dir D]
                              run one stage replica (the daemon starts these)
  version                     print the version
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  vnawire::daemon::Args args(argv + 2, argv + argc);
  try {
    if (command == "run") return vnawire::daemon::cmd_run(args);
    if (command == "check-config") return vnawire::daemon::cmd_check_config(args);
    if (command == "describe") return vnawire::daemon::cmd_describe(args);
    if (command == "stage") return vnawire::daemon::cmd_stage(args);
    if (command == "demo") return vnawire::daemon::cmd_demo(args);
    if (command == "fetch") return vnawire::daemon::cmd_fetch(args);
    if (command == "replay") return vnawire::daemon::cmd_replay(args);
    if (command == "query") return vnawire::daemon::cmd_query(args);
    if (command == "dead-letters") return vnawire::daemon::cmd_dead_letters(args);
    if (command == "keygen") return vnawire::daemon::cmd_keygen(args);
    if (command == "status") return vnawire::daemon::cmd_status(args);
    if (command == "extract" || command == "langid" || command == "dedupe") {
      return vnawire::daemon::cmd_filter(command, args);
    }
    if (command == "version" || command == "--version") {
      std::cout << "vnawire " << VNAWIRE_VERSION << "\nallocator: " << vnawire::daemon::allocator_description() << "\n";
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "vnawire " << command << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "vnawire: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
