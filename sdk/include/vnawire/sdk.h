// The vnawire SDK: a C++ program of yours becomes a pipeline sink (an `exec` stage in zmq mode).
//
//   #include <vnawire/sdk.h>
//   int main() {
//     return vnawire::sdk::run_sink([](const vnawire::sdk::Document& document) {
//       store(document.id, document.record.dump());   // yours: idempotent by id, a replay comes again
//       return vnawire::sdk::Outcome::ok();
//     });
//   }
//
// The daemon starts the program with its endpoints in VNAWIRE_* environment variables (docs/protocol.md);
// run_sink() reads them, speaks the wire protocol and the control channel, and returns the exit code.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace vnawire::sdk {

// One document, as the sink's inputs sent it.
struct Document {
  std::string id;             // stable across stages and replays; also record["id"]
  std::uint32_t attempt = 0;  // how many times the source sent this id before
  std::string trace;          // opaque, empty when there is none
  nlohmann::json record;      // the JSON object (docs/schema/document.schema.json)
};

// What the handler did with a document.
class Outcome {
 public:
  enum class Kind { Ok, Error, Retry };
  // Stored, durably: counted as forwarded, and (with `acknowledges: true` in the stage's options) acknowledged
  // to the document's source, which then forgets it. Return it only once a crash cannot lose the document.
  static Outcome ok() { return Outcome(Kind::Ok, {}); }
  // Never will be stored: written to the stage's dead-letter file with the reason (and acknowledged).
  static Outcome error(std::string reason) { return Outcome(Kind::Error, std::move(reason)); }
  // Not now (a database is busy): offered again after a growing delay (100 ms up to 5 s); at stop, dead-lettered
  // once the pipeline's drain_timeout_ms has passed.
  static Outcome retry(std::string reason) { return Outcome(Kind::Retry, std::move(reason)); }

  Kind kind() const { return kind_; }
  const std::string& reason() const { return reason_; }

 private:
  Outcome(Kind kind, std::string reason) : kind_(kind), reason_(std::move(reason)) {}
  Kind kind_;
  std::string reason_;
};

using Handler = std::function<Outcome(const Document& document)>;

// Optional steps around the documents. Each returns an empty string, or why it failed.
struct SinkHooks {
  std::function<std::string()> start;  // before READY (open a database): a failure is reported, exit 2
  std::function<std::string()> flush;  // at stop, after the last document (commit): a failure makes it exit 1
};

// Runs the sink until the daemon sends STOP or the process gets SIGTERM or SIGINT (both finish the
// documents already received). Returns the exit code for main(): 0 after a clean stop, 1 when the last
// flush failed, 2 when it cannot start (environment incomplete, sockets, the start hook). Takes SIGTERM and
// SIGINT for itself (blocked, read through a signalfd) while it runs. Diagnostics go to stderr.
int run_sink(const Handler& handler, const SinkHooks& hooks = {});

}  // namespace vnawire::sdk
