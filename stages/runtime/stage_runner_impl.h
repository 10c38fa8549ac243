// The stage process's main loop, shared by its four files: stage_runner.cc (set-up, the loop),
// stage_runner_control.cc (reports to the daemon, its verbs, signals), stage_runner_send.cc (queueing, sending,
// giving up, dead letters) and stage_runner_acks.cc (acknowledgements and the source's outbox). Private to the
// runtime: it brings in ZeroMQ.
#pragma once

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>
#include "stages/runtime/ack.h"
#include "stages/runtime/codec.h"
#include "stages/runtime/curve.h"
#include "stages/runtime/dead_letter.h"
#include "stages/runtime/dead_letter_store.h"
#include "stages/runtime/logging.h"
#include "stages/runtime/outbox.h"
#include "stages/runtime/replay_spool.h"
#include "stages/runtime/stage_metrics.h"
#include "stages/runtime/stage_runner.h"
#include "stages/runtime/wiring.h"

namespace vnawire::runtime::detail {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kSourceBudget = 64;        // documents a source may emit per produce() call
constexpr std::size_t kInputBatch = 100;    // documents taken from the input before any is sent on (the default hwm)
constexpr milliseconds kInputBatchTime{5};  // nor more than this much work
constexpr std::size_t kBatchBytes = 256u << 10;  // a batch holds at most this much (and batch_documents)
constexpr int kMaxRetries = 8;           // Retry verdicts before a document is dead-lettered
constexpr milliseconds kRetryBase{100};  // first retry delay; doubles each time
constexpr milliseconds kHoldRecheck{20};  // a stage holding work open (Stage::holding) is asked again this often

// Runtime counters, reported with the stage's own.
constexpr const char* kTooLarge = "too_large";                          // dead-lettered: over max_message_bytes
constexpr const char* kLateConsumer = "send_timeout_partly_delivered";  // a consumer is late, others have it
constexpr const char* kAbandonedPartly = "abandoned_partly_delivered";  // stop deadline, some consumers have it
constexpr const char* kReplayed = "replayed";  // sources: dead letters sent again from the replay spool
constexpr const char* kSetAside = "dead_letter_lines_set_aside";     // damaged dead-letter lines, moved at start
constexpr std::uintmax_t kLargestCheckedAtStart = 256u << 20;        // a larger dead-letter file is not read at start
constexpr const char* kDeadLetterLost = "dead_letter_write_failed";  // the record could not be written
constexpr milliseconds kSpoolPoll{1000};
constexpr milliseconds kOrphanDrain{2000};  // how long a stage whose daemon died may still hand documents on //
                                            // sources: how often the replay spool is looked at when empty
constexpr const char* kAcknowledged = "acknowledged";     // sources: documents every copy of which is finished
constexpr const char* kResent = "resent_unacknowledged";  // sources: sent again, no acknowledgement in time
constexpr const char* kUnacknowledged = "dead_lettered_unacknowledged";  // sources: max_attempts reached
constexpr const char* kOutboxFailed = "outbox_write_failed";             // sources: the outbox could not be written
constexpr const char* kOutboxSetAside = "outbox_damage_set_aside";       // sources: damaged journal records at start

struct Outgoing {
  Document document;
  Frames frames;
  const std::vector<std::size_t>* targets = nullptr;  // the output sockets it goes to (all regular ones, or one)
  std::string routed_to;                              // the route target's name, or "" for a forwarded document
  std::size_t next_output = 0;  // index in `targets` of the first output that has not taken it yet
  Clock::time_point since;
  bool reported_late = false;  // the send timeout passed after some consumers took it (logged once)
  bool from_spool = false;     // a replayed dead letter: the spool, not the stage, hears of its fate
  // Acknowledgements (ack.h): the copy this document came in as (a source: its root, edge 0), the header
  // each target gets (with its own edge; none: frames.header for all) and the XOR of the edges handed out.
  std::optional<AckToken> input;
  std::vector<std::string> headers;
  std::uint64_t edges = 0;
  std::uint64_t outbox_seq = 0;  // sources: its outbox entry, 0 until it is written there
  bool resend = false;           // sources: sent again from the outbox (the stage does not hear of it)
  std::size_t bytes() const { return frames.header.size() + frames.payload.size(); }
  const std::string& header_for(std::size_t output) const { return headers.empty() ? frames.header : headers[output]; }
};

// UTC ISO 8601 to the second.
std::string format_time_ms(std::int64_t ms);

// Milliseconds since the epoch.
std::int64_t wall_ms();

class Runner final : public Emitter {
 public:
  Runner(const PipelineConfig& config, const StageConfig& stage, int replica)
      : config_(config), stage_config_(stage), replica_(replica) {}

  int run();
  // Only queues: the size limit, timeouts and on_sent/on_abandoned are all decided in send_pending(), so
  // a source never sees a callback from inside its own produce().
  void emit(Document document) override { queue(std::move(document), ""); }

 private:
  Status setup();
  Status set_up_routes();
  void queue(Document document, const std::string& route);
  // Acknowledgements: gives each tracked target of `out` its own edge under `input`'s root.
  void set_up_copies(Outgoing& out, const AckToken& input);
  // Every target took `out`: reports its edges (and the one it came in on), or finishes it in the outbox.
  void finish_copies(const Outgoing& out);
  // `document`'s copy is finished here (dropped, dead-lettered; a sink: once flushed).
  void acknowledge(const Document& document);
  bool write_outbox();  // sources: journals what is about to leave for the first time; false: hold it
  void resend_overdue();
  void handle_done(std::string_view body);
  void send_acks();
  std::int64_t room_in_flight() const;
  std::size_t outputs_of(const Outgoing& out) const { return out.targets->size(); }
  zmq::socket_t& output_socket(const Outgoing& out) { return outputs_[(*out.targets)[out.next_output]]; }
  void send_control(const char* verb, const nlohmann::json& body);
  nlohmann::json stats() const;
  void handle_control();
  void handle_signal();
  void begin_stop();
  bool receive_one();  // false when nothing was waiting
  // Documents are handled one behind the input: a received document waits in `ahead_` while the one before
  // it is handled, so that the stage is shown it first (Stage::upcoming).
  void take(Document document);
  void take_batch(std::string_view header, std::string_view body);  // decodes a batch into inbox_
  bool take_from_inbox();                                           // false when inbox_ is empty
  // Handles the document waiting in `ahead_`, unless one before it is waiting for a retry.
  void handle_ahead();
  // `shown`: the time the stage spent on it in upcoming(), counted in its processing time.
  void process(Document document, Clock::duration shown = {});
  void dead_letter(const std::string& reason, std::string_view id, std::string_view header, std::string_view payload,
                   ErrorKind kind = ErrorKind::Rejected);
  void dead_letter(const std::string& reason, const Document& document, ErrorKind kind = ErrorKind::Rejected);
  void send_pending();
  // Hands the first pending document to the output socket of its next target, with the documents behind it
  // that go to the same socket next, as one batch where that socket's consumer reads them: true once the
  // socket took them, false when it is full.
  bool send_from_front();
  // A socket's ZeroMQ high-water mark: `hwm` documents, counted in batches where the socket carries them, so
  // that what waits between two stages stays about the same.
  int socket_hwm(bool batches) const {
    const auto per_message = batches ? static_cast<std::int64_t>(batch_documents_) : 1;
    return static_cast<int>(std::max<std::int64_t>(2, (stage_config_.hwm + per_message - 1) / per_message));
  }
  void give_up(const Outgoing& out, const std::string& reason, bool write_dead_letter,
               ErrorKind kind = ErrorKind::SendTimeout);
  void take_replays();
  void set_aside_damaged_dead_letters();
  std::string consumers_between(const Outgoing& out, std::size_t from, std::size_t to) const;
  bool call_stage(Status (Stage::*hook)(), const char* what);
  bool flush_stage();
  void idle_stage();
  bool stage_holding() const { return stage_ && stage_->holding(); }
  void report(const char* verb);
  // A HEARTBEAT. A sink's counts say what it has stored, so what it still holds (an open batch) is made
  // durable first: no document is reported stored before it is.
  void report_heartbeat();
  std::uint64_t work_done() const {
    std::uint64_t routed = 0;
    for (const auto& [target, n] : routed_) routed += n;
    return received_ + forwarded_ + routed + dropped_ + dead_lettered_ + retried_;
  }
  void announce_sends();
  milliseconds poll_timeout(Clock::time_point now) const;

  const PipelineConfig& config_;
  const StageConfig& stage_config_;
  const int replica_;
  std::string identity_;
  std::shared_ptr<spdlog::logger> log_;
  Counters counters_;
  StageMetrics metrics_;  // latency, drops by reason, errors by kind: reported with the counts
  StageContext context_;
  std::unique_ptr<Stage> stage_;
  DeadLetterWriter dead_letters_;
  std::optional<ReplaySpool> spool_;  // sources only
  std::optional<Outbox> outbox_;      // sources, with acknowledgements on
  bool acks_on_ = false;
  std::vector<bool> output_acks_;         // per output socket: whether its consumer acknowledges what it takes
  std::size_t batch_documents_ = 1;       // pipeline.batch_documents
  std::vector<bool> output_batches_;      // per output socket: whether its consumer reads batches
  std::string batch_body_;                // the batch being written (reused)
  AckBatch acks_;                         // reports not sent yet
  std::vector<AckToken> unflushed_acks_;  // a sink's stored copies, reported once a flush made them durable
  std::int64_t ack_timeout_ms_ = 0, max_attempts_ = 0, max_in_flight_ = 0;
  Clock::time_point next_resend_{};

  zmq::context_t zmq_context_{1};
  std::unique_ptr<ZapHandler> zap_;  // CURVE only; after the context, so that it closes its socket first
  std::optional<zmq::socket_t> control_;
  std::optional<zmq::socket_t> input_;
  std::vector<zmq::socket_t> outputs_;
  std::vector<std::string> consumers_;        // the stage each output socket feeds, in the same order
  std::vector<std::size_t> regular_outputs_;  // outputs that get forwarded documents (all but route targets)
  std::map<std::string, std::vector<std::size_t>> route_outputs_;  // route target -> its output socket
  std::map<std::string, std::uint64_t> routed_;                    // documents routed to each target
  std::int64_t max_message_bytes_ = 0;
  bool is_source_ = false;
  bool is_sink_ = false;
  // From the descriptor: what the stage adds to a record. A sink stores or hands on the record's text as it
  // came (codec.h, record_text()), so it keeps the payload too.
  std::vector<std::string> adds_members_;
  KeepPayload keep_payload() const { return KeepPayload{is_sink_ || !adds_members_.empty(), &adds_members_}; }
  int signal_fd_ = -1;

  std::deque<Outgoing> pending_;
  // When downstream last took a whole document: a document's send timeout counts from the later of its
  // queueing and this, so that one queued with a batch does not inherit the waits of those before it, while
  // a downstream that takes nothing still times out every waiting document together.
  Clock::time_point last_sent_{};
  std::optional<Document> retry_document_;
  std::optional<Document> ahead_;  // received, handled after the current one (or after retry_document_)
  std::deque<Document> inbox_;     // the rest of a received batch, taken one at a time before the socket
  Clock::duration ahead_shown_{};  // the time upcoming() took on it
  int retries_ = 0;
  Clock::time_point retry_at_{};
  bool stopping_ = false;
  bool input_drained_ = false;
  Clock::time_point stop_deadline_{};
  Clock::time_point ack_deadline_{};
  pid_t parent_ = ::getppid();  // the daemon, for a stage it started
  bool orphaned_ =
      false;  // the daemon died  // sources, stopping: how long to wait for what they sent to be acknowledged
  Clock::time_point next_heartbeat_{};
  Clock::time_point next_flush_{};
  Clock::time_point next_produce_{};
  Clock::time_point next_spool_{};

  std::uint64_t received_ = 0, forwarded_ = 0, dropped_ = 0, dead_lettered_ = 0, retried_ = 0;
  std::uint64_t work_reported_ = 0;  // work_done() as of the last report to the daemon
  std::uint64_t announced_ = 0;      // work_done() plus pending documents, as of the last announce_sends()
  bool handled_since_idle_ = false;  // documents were handled since the last on_idle()
};

}  // namespace vnawire::runtime::detail
