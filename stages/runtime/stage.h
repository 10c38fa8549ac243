// What a stage is: the descriptor the registry lists, and the interface its logic implements.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stages/runtime/document.h"
#include "stages/runtime/options.h"
#include "stages/runtime/status.h"

namespace spdlog {
class logger;
}

namespace vnawire::runtime {

// What happened to one document in a stage.
enum class Disposition {
  Forward,     // passed on (a sink: stored)
  Drop,        // dropped on purpose (duplicate, filtered language): acknowledged, not an error
  DeadLetter,  // cannot be handled: written to the dead-letter file with the reason
  Retry,       // a transient failure (database busy): the runtime retries with backoff
  Route,       // passed on to one named consumer only (a route target the stage declared), not the others
};

struct Verdict {
  Disposition disposition = Disposition::Forward;
  std::string reason;
  std::string target;  // Route: the consumer stage's name
  static Verdict forward() { return {}; }
  static Verdict drop(std::string why) { return {Disposition::Drop, std::move(why)}; }
  static Verdict dead_letter(std::string why) { return {Disposition::DeadLetter, std::move(why)}; }
  static Verdict retry(std::string why) { return {Disposition::Retry, std::move(why)}; }
  // `target`: a stage reading from this one and listed by route_targets(); `why` is logged at debug level.
  static Verdict route(std::string target, std::string why) {
    return {Disposition::Route, std::move(why), std::move(target)};
  }
};

// Stage-specific counters (documents per language, duplicates found...), reported to the daemon.
class Counters {
 public:
  void add(const std::string& name, std::uint64_t n = 1) { values_[name] += n; }
  std::uint64_t get(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? 0 : it->second;
  }
  const std::map<std::string, std::uint64_t>& values() const { return values_; }

 private:
  std::map<std::string, std::uint64_t> values_;
};

struct StageContext {
  std::string name;  // the stage's name in the pipeline
  int replica = 0;
  std::filesystem::path state_dir;   // the pipeline's state directory
  std::filesystem::path stage_dir;   // <state_dir>/<name>: this stage's own files
  const Options* options = nullptr;  // bound and defaulted
  std::shared_ptr<spdlog::logger> log;
  Counters* counters = nullptr;
  // Writes a dead-letter record (sources use it for input they cannot turn into a document).
  std::function<void(const std::string& reason, const std::string& id, const std::string& payload)> dead_letter;

  // Resolves a path option: absolute paths stay, relative ones are taken under state_dir.
  std::filesystem::path resolve(const std::string& path) const {
    std::filesystem::path p(path);
    return p.is_absolute() ? p : state_dir / p;
  }
};

// Where a source stage puts what it produces.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void emit(Document document) = 0;
};

// How far a source has read an input of known size (a backfill): `done` of `total` units, bytes for files.
struct SourceProgress {
  std::uint64_t done = 0;
  std::uint64_t total = 0;  // 0: the source has no input of known size
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Opens files and databases; an error stops the process before READY with that message.
  virtual Status start() { return {}; }
  // Processors and sinks: handles one document, which it may modify in place.
  virtual Verdict on_message(Document& /*document*/) { return Verdict::forward(); }
  // Processors and sinks: the document the stage gets next, shown before it handles the current one when
  // the input already holds it (a backed-up input). A hint for stages whose work waits on memory: they may
  // prepare it and ask for its cache lines now, so that those arrive while the current one is handled.
  // The same document is then handed to on_message(), unchanged, unless the stage stops first; an
  // exception here is ignored. Its time here counts in the document's processing time.
  virtual void upcoming(const Document& /*document*/) {}
  // Consumers that only get documents routed to them (Verdict::route), never the forwarded ones. Asked
  // after start(); each must be a stage that reads from this one, or the process does not start.
  virtual std::vector<std::string> route_targets() const { return {}; }
  // Sources: emits at most `budget` documents and returns how long to wait before the next call.
  virtual std::chrono::milliseconds produce(Emitter& /*out*/, int /*budget*/) { return std::chrono::hours(1); }
  // Sources reading an input of known size (WARC files being backfilled): how much of it is read. Sent with
  // every heartbeat; the daemon draws it as a progress bar on a terminal and adds it to its status line.
  virtual SourceProgress progress() const { return {}; }
  // Sources: the document left the process (the runtime handed it to every consumer).
  virtual void on_sent(const Document& /*document*/) {}
  // Sources: the runtime gave the document up instead of sending it, for `reason`: it was larger than
  // pipeline.max_message_bytes, no consumer took it within send_timeout_ms, or the stop deadline came
  // first. Every emitted document gets exactly one of on_sent and on_abandoned, from the main loop (never
  // from inside emit()). A document already handed to some consumers is never dead-lettered; it is
  // abandoned only when the stop deadline passes before the others take it. Release the document's
  // bookkeeping here without recording it as sent, so that it is sent again at the next start.
  virtual void on_abandoned(const Document& /*document*/, const std::string& /*reason*/) {}
  // Makes what was handled durable (sink commits, state files); called periodically and at stop. A
  // failure at stop makes the process exit 1.
  virtual Status flush() { return {}; }
  // The input has no document waiting after the stage handled some: release what must not be held
  // while idle (a sink's open transaction and its write lock). A failure is logged like a flush's.
  virtual Status on_idle() { return {}; }
  // After on_idle(): whether the stage kept handled work uncommitted on purpose (a busy sink's young
  // transaction). The runner then does not report that work at once, since a sink's report makes what it
  // counts durable first, and calls on_idle() again every few milliseconds while the input stays empty, so
  // that the stage lets the work go when its own limit passes; the next flush or heartbeat commits it too.
  virtual bool holding() const { return false; }
  virtual void stop() {}
};

enum class StageRole { Source, Processor, Sink };

// A problem a stage finds in its own options: the key it names (relative to the stage's options), and why.
// `line`/`column` locate problems inside a list item ("sources[2].url"); 0 points at the key itself.
struct OptionProblem {
  std::string key;
  std::string reason;
  int line = 0;
  int column = 0;
};

struct StageDescriptor {
  std::string type;         // as written in the config's `type:`
  std::string description;  // one line
  StageRole role;
  int max_replicas;  // 1 for stages whose state cannot be shared
  OptionSpecs options;
  std::function<std::unique_ptr<Stage>(const StageContext&)> create;
  // Checks the bound options against each other and the pipeline's (may be empty): one problem per
  // option key, reported by the config check with the file, line and key.
  std::function<std::vector<OptionProblem>(const Options& options, const Options& pipeline)> check;
  // A stage whose process is a program of the user's (exec in zmq mode): its command line, which the daemon
  // runs in place of `vnawire stage`, with the endpoints in its environment (program_environment() in
  // wiring.h). Empty, or returning nothing: a vnawire stage process.
  std::function<std::vector<std::string>(const Options& options)> program;
  // Whether the stage's processes acknowledge what they take in (docs/protocol.md); empty: they do (every
  // vnawire stage process). A stage feeding one that does not sends it untracked, version 1 messages and
  // acknowledges each copy itself once the consumer has taken it.
  std::function<bool(const Options& options)> acknowledges;
  // The top-level members the stage sets in the records it is given, and the only change it makes to them
  // (langid: "lang"). The runner then keeps each payload it receives and sends it on with those members
  // written in (codec.h, encode()), instead of writing the whole record again; a record that already has one
  // of them is written whole.
  std::vector<std::string> adds_members;
};

using StageLookup = std::function<const StageDescriptor*(const std::string& type)>;

}  // namespace vnawire::runtime
