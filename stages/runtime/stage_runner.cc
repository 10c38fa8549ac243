// The stage process: one ZeroMQ context, one thread owning every socket, polling data, control and signals.
#include "stages/runtime/stage_runner.h"

#include <signal.h>
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

#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "stages/runtime/ack.h"
#include "stages/runtime/codec.h"
#include "stages/runtime/dead_letter.h"
#include "stages/runtime/dead_letter_store.h"
#include "stages/runtime/logging.h"
#include "stages/runtime/outbox.h"
#include "stages/runtime/replay_spool.h"
#include "stages/runtime/wiring.h"

namespace vnawire::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kSourceBudget = 64;        // documents a source may emit per produce() call
constexpr int kMaxRetries = 8;           // Retry verdicts before a document is dead-lettered
constexpr milliseconds kRetryBase{100};  // first retry delay; doubles each time

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
std::string format_time_ms(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

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
  void process(Document document);
  void dead_letter(const std::string& reason, std::string_view id, std::string_view header, std::string_view payload);
  void dead_letter(const std::string& reason, const Document& document);
  void send_pending();
  void give_up(const Outgoing& out, const std::string& reason, bool write_dead_letter);
  void take_replays();
  void set_aside_damaged_dead_letters();
  std::string consumers_between(const Outgoing& out, std::size_t from, std::size_t to) const;
  bool call_stage(Status (Stage::*hook)(), const char* what);
  bool flush_stage();
  void idle_stage();
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
  StageContext context_;
  std::unique_ptr<Stage> stage_;
  DeadLetterWriter dead_letters_;
  std::optional<ReplaySpool> spool_;  // sources only
  std::optional<Outbox> outbox_;      // sources, with acknowledgements on
  bool acks_on_ = false;
  std::vector<bool> output_acks_;         // per output socket: whether its consumer acknowledges what it takes
  AckBatch acks_;                         // reports not sent yet
  std::vector<AckToken> unflushed_acks_;  // a sink's stored copies, reported once a flush made them durable
  std::int64_t ack_timeout_ms_ = 0, max_attempts_ = 0, max_in_flight_ = 0;
  Clock::time_point next_resend_{};

  zmq::context_t zmq_context_{1};
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
  int signal_fd_ = -1;

  std::deque<Outgoing> pending_;
  std::optional<Document> retry_document_;
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

void Runner::send_control(const char* verb, const nlohmann::json& body) {
  if (!control_) return;
  const std::string body_text = body.dump();
  const std::array<zmq::const_buffer, 2> frames = {zmq::buffer(std::string_view(verb)), zmq::buffer(body_text)};
  // The control queue is large and the daemon reads it at once: never block the data path on it.
  (void)zmq::send_multipart(*control_, frames, zmq::send_flags::dontwait);
}

// Sends the counters; a report also tells the daemon everything done so far, which a crash cannot take back.
void Runner::report(const char* verb) {
  send_control(verb, stats());
  work_reported_ = work_done();
}

nlohmann::json Runner::stats() const {
  nlohmann::json body;
  body["pid"] = ::getpid();
  body["received"] = received_;
  body["forwarded"] = forwarded_;
  body["dropped"] = dropped_;
  body["dead_lettered"] = dead_lettered_;
  body["retried"] = retried_;
  body["pending"] = pending_.size() + (retry_document_ ? 1 : 0);
  if (outbox_) body["in_flight"] = outbox_->size();
  body["counters"] = counters_.values();
  if (!route_outputs_.empty()) body["routed"] = routed_;
  return body;
}

// The daemon counts what each consumer should receive from this stage: forwarded documents for regular
// consumers, routed[target] for route targets.
Status Runner::set_up_routes() {
  std::vector<std::string> targets = stage_->route_targets();
  for (std::size_t i = 0; i < consumers_.size(); ++i) {
    if (std::find(targets.begin(), targets.end(), consumers_[i]) != targets.end()) {
      route_outputs_[consumers_[i]].push_back(i);
    } else {
      regular_outputs_.push_back(i);
    }
  }
  for (const auto& target : targets) {
    if (!route_outputs_.count(target)) {
      return Status::error("route target '" + target + "' is not a stage reading from " + stage_config_.name +
                           " (give it `inputs: [" + stage_config_.name + "]`)");
    }
    routed_[target];  // reported from the start, even at 0
  }
  return {};
}

void Runner::queue(Document document, const std::string& route) {
  // The copy it came in as; a source starts a new tree (whatever header a replayed dead letter had).
  std::optional<AckToken> input;
  if (!is_source_ && acks_on_ && !document.header.ack.empty()) input = parse_ack(document.header.ack);
  if (is_source_ && acks_on_) input = AckToken{identity_, random_token(), 0};
  document.header.ack.clear();
  Frames frames = encode(document);
  Outgoing out{std::move(document), std::move(frames), &regular_outputs_, route, 0, Clock::now()};
  if (!route.empty()) out.targets = &route_outputs_.at(route);
  if (input) set_up_copies(out, *input);
  pending_.push_back(std::move(out));
}

void Runner::set_up_copies(Outgoing& out, const AckToken& input) {
  out.input = input;
  out.headers.clear();
  out.edges = 0;
  for (const std::size_t output : *out.targets) {
    if (!output_acks_[output]) {
      out.headers.push_back(out.frames.header);  // version 1, untracked: this stage answers for the copy
      continue;
    }
    const AckToken copy{input.origin, input.root, random_token()};
    out.edges ^= copy.edge;
    Header header = out.document.header;
    header.ack = format_ack(copy);
    out.headers.push_back(encode_header(header));
  }
}

void Runner::finish_copies(const Outgoing& out) {
  if (!out.input) return;
  if (!is_source_) {
    acks_.add(out.input->origin, out.input->root, out.input->edge ^ out.edges);
  } else if (out.edges != 0) {
    acks_.add(out.input->origin, out.input->root, out.edges);
  } else if (out.outbox_seq != 0 && outbox_->done(out.outbox_seq)) {
    counters_.add(kAcknowledged);  // no consumer acknowledges: handing it over finishes it
  }
}

void Runner::acknowledge(const Document& document) {
  if (!acks_on_ || document.header.ack.empty() || is_source_) return;
  if (auto token = parse_ack(document.header.ack)) acks_.add(token->origin, token->root, token->edge);
}

std::int64_t Runner::room_in_flight() const {
  if (!outbox_) return kSourceBudget;
  return max_in_flight_ - static_cast<std::int64_t>(outbox_->size() + pending_.size());
}

// Before a source's document first leaves, it is in the outbox on disk: a crash after the send cannot
// lose it. One sync for all that is about to leave.
bool Runner::write_outbox() {
  if (!outbox_) return true;
  const auto now = wall_ms();
  for (auto& out : pending_) {
    if (out.outbox_seq != 0 || !out.input || out.bytes() > static_cast<std::size_t>(max_message_bytes_)) continue;
    out.outbox_seq = outbox_->add(out.document.header.id, out.document.header.trace, out.document.header.attempt,
                                  out.frames.payload, out.input->root, now);
  }
  if (!outbox_->has_unwritten()) return true;
  if (auto written = outbox_->commit(); !written) {
    counters_.add(kOutboxFailed);
    log_->error("cannot write the outbox, holding {} document(s) back: {}", pending_.size(), written.message());
    return false;
  }
  return true;
}

// Documents whose acknowledgement is overdue go out again under a new root, attempt + 1; after
// max_attempts sends, to the dead letters with their history.
void Runner::resend_overdue() {
  const auto now = wall_ms();
  next_resend_ = Clock::now() + std::clamp(milliseconds(ack_timeout_ms_ / 4), milliseconds(20), milliseconds(1000));
  for (const std::uint64_t seq : outbox_->due(now, ack_timeout_ms_, kSourceBudget)) {
    const Outbox::Entry entry = *outbox_->find(seq);
    Header header{entry.id, entry.attempt, entry.trace, ""};
    auto payload = outbox_->payload(seq);
    if (!payload) {
      dead_letter("cannot read the unacknowledged document back from the outbox: " + payload.error(), entry.id,
                  encode_header(header), "");
      outbox_->done(seq);
      continue;
    }
    if (entry.attempt + 1 >= static_cast<std::uint64_t>(max_attempts_)) {
      counters_.add(kUnacknowledged);
      dead_letter("not acknowledged after " + std::to_string(entry.attempt + 1) + " send(s): first sent " +
                      format_time_ms(entry.first_ms) + ", last " + format_time_ms(entry.sent_ms),
                  entry.id, encode_header(header), *payload);
      outbox_->done(seq);
      continue;
    }
    header.attempt = entry.attempt + 1;
    Frames frames{encode_header(header), std::move(*payload)};
    Outgoing out{Document{header, nlohmann::json()}, std::move(frames), &regular_outputs_, "", 0, Clock::now()};
    out.resend = true;
    out.outbox_seq = seq;
    set_up_copies(out, AckToken{identity_, random_token(), 0});
    outbox_->resent(seq, out.input->root, header.attempt, now);
    counters_.add(kResent);
    log_->info("{} not acknowledged in time: sending it again (attempt {})", entry.id, header.attempt);
    pending_.push_back(std::move(out));
  }
}

void Runner::handle_done(std::string_view text) {
  if (!outbox_) return;
  const auto body = nlohmann::json::parse(text, nullptr, false);
  const auto roots = body.is_object() ? body.find("roots") : body.end();
  if (body.is_discarded() || !body.is_object() || roots == body.end() || !roots->is_array()) {
    log_->warn("malformed DONE from the daemon");
    return;
  }
  for (const auto& value : *roots) {
    if (!value.is_string()) continue;
    const auto root = parse_token_hex(value.get_ref<const std::string&>());
    std::uint64_t seq = 0;
    if (root && outbox_->find_root(*root, &seq) != nullptr && outbox_->done(seq)) counters_.add(kAcknowledged);
  }
}

void Runner::send_acks() {
  if (acks_.empty()) return;
  nlohmann::json body = acks_.take();
  body["pid"] = ::getpid();
  send_control(kAck, body);
}

Status Runner::setup() {
  identity_ = replica_identity(stage_config_.name, replica_);
  log_ = make_logger(identity_, config_.pipeline.get_string("log_level"));
  ::prctl(PR_SET_NAME, ("vw-" + identity_).substr(0, 15).c_str(), 0, 0, 0);

  context_.name = stage_config_.name;
  context_.replica = replica_;
  context_.state_dir = config_.state_dir;
  context_.stage_dir = config_.state_dir / stage_config_.name;
  context_.options = &stage_config_.options;
  context_.log = log_;
  context_.counters = &counters_;
  context_.dead_letter = [this](const std::string& reason, const std::string& id, const std::string& payload) {
    dead_letter(reason, id, "", payload);
  };
  std::error_code ec;
  std::filesystem::create_directories(context_.stage_dir, ec);
  if (ec) return Status::error("cannot create " + context_.stage_dir.string() + ": " + ec.message());
  auto opened =
      dead_letters_.open(dead_letter_path(config_, stage_config_.name, replica_), stage_config_.name, replica_);
  if (!opened) return opened;
  set_aside_damaged_dead_letters();

  const auto drain_ms = static_cast<int>(config_.pipeline.get_int("drain_timeout_ms"));
  max_message_bytes_ = config_.pipeline.get_int("max_message_bytes");
  is_source_ = stage_config_.descriptor->role == StageRole::Source;
  is_sink_ = stage_config_.descriptor->role == StageRole::Sink;
  if (is_source_) spool_.emplace(config_.state_dir, stage_config_.name, identity_);
  acks_on_ = config_.pipeline.get_bool("acknowledgements");
  ack_timeout_ms_ = config_.pipeline.get_int("ack_timeout_ms");
  max_attempts_ = config_.pipeline.get_int("max_attempts");
  max_in_flight_ = config_.pipeline.get_int("max_in_flight");
  if (is_source_ && acks_on_) {
    outbox_.emplace();
    const auto file = context_.stage_dir / ("outbox." + std::to_string(replica_) + ".journal");
    if (auto opened = outbox_->open(file); !opened) return opened;
    if (!outbox_->set_aside().empty()) {
      counters_.add(kOutboxSetAside);
      log_->error("{}: {}", file.string(), outbox_->set_aside());
    }
    if (outbox_->size() > 0) {
      // An acknowledgement meant for the previous process is lost with it: they go out again now (a copy
      // that was in fact finished is recognised as a replay downstream and stored once).
      log_->info("{} document(s) sent before the last stop are not acknowledged: sending them again", outbox_->size());
      outbox_->make_all_due();
    }
  }
  try {
    control_.emplace(zmq_context_, zmq::socket_type::dealer);
    control_->set(zmq::sockopt::routing_id, identity_);
    control_->set(zmq::sockopt::linger, 2000);
    control_->set(zmq::sockopt::sndhwm, 100000);
    control_->connect(control_endpoint(config_));
    for (const auto& consumer : config_.consumers_of(stage_config_.name)) {
      zmq::socket_t push(zmq_context_, zmq::socket_type::push);
      push.set(zmq::sockopt::sndhwm, static_cast<int>(stage_config_.hwm));
      push.set(zmq::sockopt::linger, drain_ms);
      const std::string endpoint = output_endpoint(config_, stage_config_.name, replica_, consumer);
      try {
        push.bind(endpoint);
      } catch (const zmq::error_t& e) {
        return Status::error("cannot bind " + endpoint + ": " + e.what());
      }
      outputs_.push_back(std::move(push));
      consumers_.push_back(consumer);
      const StageConfig* reader = config_.find(consumer);
      output_acks_.push_back(reader == nullptr || !reader->descriptor->acknowledges ||
                             reader->descriptor->acknowledges(reader->options));
    }
    auto inputs = input_endpoints(config_, stage_config_.name);
    if (!inputs.empty()) {
      input_.emplace(zmq_context_, zmq::socket_type::pull);
      input_->set(zmq::sockopt::rcvhwm, static_cast<int>(stage_config_.hwm));
      input_->set(zmq::sockopt::maxmsgsize, max_message_bytes_);
      input_->set(zmq::sockopt::linger, 0);
      for (const auto& endpoint : inputs) input_->connect(endpoint);
    }
  } catch (const zmq::error_t& e) {
    return Status::error(std::string("cannot set up sockets: ") + e.what());
  }

  try {
    stage_ = stage_config_.descriptor->create(context_);
    if (!stage_) return Status::error("the stage factory returned nothing");
    if (auto started = stage_->start(); !started) return started;
    return set_up_routes();
  } catch (const std::exception& e) {
    return Status::error(std::string("the stage failed to start: ") + e.what());
  }
}

void Runner::dead_letter(const std::string& reason, std::string_view id, std::string_view header,
                         std::string_view payload) {
  ++dead_lettered_;
  log_->warn("dead-lettered {}: {}", id.empty() ? std::string_view("(no id)") : id, reason);
  if (auto written = dead_letters_.write(reason, id, header, payload); !written) {
    counters_.add(kDeadLetterLost);
    log_->error("could not write the dead letter: {}", written.message());
  }
}

void Runner::dead_letter(const std::string& reason, const Document& document) {
  Frames frames = encode(document);
  dead_letter(reason, document.header.id, frames.header, frames.payload);
  acknowledge(document);  // a dead letter is an end: the record is durable (DeadLetterWriter syncs it)
}

bool Runner::receive_one() {
  std::vector<zmq::message_t> frames;
  std::optional<std::size_t> got;
  try {
    got = zmq::recv_multipart(*input_, std::back_inserter(frames), zmq::recv_flags::dontwait);
  } catch (const zmq::error_t& e) {
    log_->error("receive failed: {}", e.what());
    return false;
  }
  if (!got) return false;
  ++received_;
  if (frames.size() != 2) {
    std::string_view head = frames.empty() ? std::string_view() : frames[0].to_string_view();
    std::string_view body = frames.size() > 1 ? frames[1].to_string_view() : std::string_view();
    dead_letter("malformed message: expected 2 frames, got " + std::to_string(frames.size()), "", head, body);
    return true;
  }
  auto document = decode(frames[0].to_string_view(), frames[1].to_string_view());
  if (!document) {
    dead_letter("cannot decode: " + document.error(), "", frames[0].to_string_view(), frames[1].to_string_view());
    return true;
  }
  process(std::move(document.value()));
  return true;
}

void Runner::process(Document document) {
  handled_since_idle_ = true;
  Verdict verdict;
  try {
    verdict = stage_->on_message(document);
  } catch (const std::exception& e) {
    verdict = Verdict::dead_letter(std::string("stage error: ") + e.what());
  }
  switch (verdict.disposition) {
    case Disposition::Forward:
      retries_ = 0;
      if (outputs_.empty()) {
        ++forwarded_;
        // Stored, but perhaps only in an open batch: acknowledged after the next flush.
        if (acks_on_ && !document.header.ack.empty()) {
          if (auto token = parse_ack(document.header.ack)) unflushed_acks_.push_back(*token);
        }
      } else {
        emit(std::move(document));
      }
      break;
    case Disposition::Drop:
      retries_ = 0;
      ++dropped_;
      log_->debug("dropped {}: {}", document.header.id, verdict.reason);
      acknowledge(document);
      break;
    case Disposition::Route:
      retries_ = 0;
      if (!route_outputs_.count(verdict.target)) {
        dead_letter("stage error: routed to '" + verdict.target + "', which is not a declared route target", document);
        break;
      }
      log_->debug("routed {} to {}: {}", document.header.id, verdict.target, verdict.reason);
      queue(std::move(document), verdict.target);
      break;
    case Disposition::DeadLetter:
      retries_ = 0;
      dead_letter(verdict.reason, document);
      break;
    case Disposition::Retry:
      ++retried_;
      if (++retries_ > kMaxRetries) {
        retries_ = 0;
        dead_letter("gave up after " + std::to_string(kMaxRetries) + " retries: " + verdict.reason, document);
        break;
      }
      log_->warn("will retry {} ({}): {}", document.header.id, retries_, verdict.reason);
      retry_at_ = Clock::now() + kRetryBase * (1 << std::min(retries_ - 1, 10));
      retry_document_ = std::move(document);
      break;
  }
}

// Counts go to the daemon before the documents they count go downstream: a process killed just after handing
// documents on has already reported them, so the stop's balance does not take delivered documents for lost.
// Pending documents are reported as forwarded (they are about to be); if one is given up instead, the next
// report corrects the count, and a kill in between shows as a gap, which is then a real possible loss.
void Runner::announce_sends() {
  if (!control_ || pending_.empty()) return;
  const std::uint64_t ahead = work_done() + pending_.size();
  if (ahead == announced_) return;
  announced_ = ahead;
  nlohmann::json body = stats();
  std::uint64_t forwarded_ahead = forwarded_;
  for (const auto& out : pending_) {
    if (out.routed_to.empty()) {
      ++forwarded_ahead;
    } else {
      body["routed"][out.routed_to] = body["routed"][out.routed_to].get<std::uint64_t>() + 1;
    }
  }
  body["forwarded"] = forwarded_ahead;
  send_control(kHeartbeat, body);
}

void Runner::send_pending() {
  if (!write_outbox()) return;
  announce_sends();
  const auto send_timeout = milliseconds(stage_config_.send_timeout_ms);
  while (!pending_.empty()) {
    Outgoing& out = pending_.front();
    // ZeroMQ drops the connection of a peer that sends more than its maxmsgsize, and the document with it.
    if (out.next_output == 0 && out.bytes() > static_cast<std::size_t>(max_message_bytes_)) {
      counters_.add(kTooLarge);
      give_up(out,
              "the encoded document is " + std::to_string(out.bytes()) + " bytes, over the " +
                  std::to_string(max_message_bytes_) + "-byte message limit (pipeline.max_message_bytes)",
              true);
      pending_.pop_front();
      continue;
    }
    while (out.next_output < outputs_of(out)) {
      zmq::socket_t& socket = output_socket(out);
      std::optional<std::size_t> sent;
      try {
        sent = socket.send(zmq::buffer(out.header_for(out.next_output)),
                           zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        // Once the first frame is queued the rest of the message is accepted as a whole.
        if (sent) socket.send(zmq::buffer(out.frames.payload), zmq::send_flags::none);
      } catch (const zmq::error_t& e) {
        log_->error("send failed: {}", e.what());
        sent.reset();
      }
      if (!sent) break;
      ++out.next_output;
    }
    if (out.next_output < outputs_of(out)) {
      const auto now = Clock::now();
      const bool timed_out = send_timeout.count() > 0 && now - out.since > send_timeout;
      const bool stop_expired = stopping_ && now > stop_deadline_;
      if (out.next_output == 0 && (timed_out || stop_expired)) {
        // A stage whose daemon died leaves a tracked document to its source's outbox: no dead letter for a
        // document that comes again.
        const bool sent_again = orphaned_ && stop_expired && out.input.has_value();
        give_up(out,
                stop_expired ? "stopping: downstream did not take the document before the drain timeout"
                             : "downstream did not take the document within send_timeout_ms",
                !sent_again);
        pending_.pop_front();
        continue;
      }
      // Some consumers already have it: a dead letter would be a lie, so wait for the others while the
      // stage runs. Only the stop deadline ends the wait; the source then sends it again at the next start.
      const std::string late = consumers_between(out, out.next_output, outputs_of(out));
      if (stop_expired) {
        counters_.add(kAbandonedPartly);
        log_->error(
            "stopping: {} was handed to {} but {} did not take it before the drain timeout; not "
            "dead-lettered, since some consumers have it",
            out.document.header.id, consumers_between(out, 0, out.next_output), late);
        give_up(out, "stopping: " + late + " did not take the document before the drain timeout", false);
        pending_.pop_front();
        continue;
      }
      if (timed_out && !out.reported_late) {
        out.reported_late = true;
        counters_.add(kLateConsumer);
        log_->warn("{} did not take {} within send_timeout_ms, but {} did: still trying", late, out.document.header.id,
                   consumers_between(out, 0, out.next_output));
      }
      return;  // downstream is full: try again when it can take more
    }
    if (out.routed_to.empty()) {
      ++forwarded_;
    } else {
      ++routed_[out.routed_to];
    }
    finish_copies(out);
    if (out.resend) {
      // the runtime's own: the stage heard of it the first time
    } else if (out.from_spool) {
      spool_->sent();
    } else if (is_source_) {
      try {
        stage_->on_sent(out.document);
      } catch (const std::exception& e) {
        log_->error("on_sent failed: {}", e.what());
      }
    }
    pending_.pop_front();
  }
}

void Runner::give_up(const Outgoing& out, const std::string& reason, bool write_dead_letter) {
  if (write_dead_letter) {
    dead_letter(reason, out.document.header.id, out.frames.header, out.frames.payload);
    // A dead letter finishes the copy it came from; one abandoned (not dead-lettered) is left unacknowledged,
    // so that its source sends it again.
    if (out.input && !is_source_) acks_.add(out.input->origin, out.input->root, out.input->edge);
    if (out.outbox_seq != 0) outbox_->done(out.outbox_seq);
  }
  if (out.resend) return;
  if (out.from_spool) {
    // Dead-lettered again, it is handled; abandoned, its spool file is kept for the next start.
    write_dead_letter ? spool_->sent() : spool_->abandoned();
    return;
  }
  if (!is_source_) return;
  try {
    stage_->on_abandoned(out.document, reason);
  } catch (const std::exception& e) {
    log_->error("on_abandoned failed: {}", e.what());
  }
}

// A crash mid-write leaves a line cut short, a failing disk a flipped bit: such lines move to <file>.damaged
// with an error here, so the store's readers and replays meet whole records only.
void Runner::set_aside_damaged_dead_letters() {
  const auto& path = dead_letters_.path();
  if (!dead_letters_.set_aside().empty()) {
    counters_.add(kSetAside);
    log_->error("{}: {}", path.string(), dead_letters_.set_aside());
  }
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) > kLargestCheckedAtStart || ec) return;
  auto damaged = set_aside_damaged_lines(path);
  if (!damaged) {
    log_->error("cannot set damaged dead letters aside: {}", damaged.error());
    return;
  }
  for (const auto& line : damaged.value()) log_->error("{}; moved it to {}.damaged", line.to_string(), path.string());
  counters_.add(kSetAside, damaged->size());
}

// Replayed dead letters go out before the stage's own documents, a budget at a time.
void Runner::take_replays() {
  ReplaySpool::Taken taken = spool_->take(kSourceBudget);
  for (std::size_t i = 0; i < taken.problems.size(); ++i) {
    dead_letter("replay: set aside: " + taken.problems[i], "", "", taken.problem_lines[i]);
  }
  if (!taken.documents.empty()) {
    log_->info("replaying {} dead-lettered document(s)", taken.documents.size());
    counters_.add(kReplayed, taken.documents.size());
  }
  for (auto& document : taken.documents) {
    queue(std::move(document), "");
    pending_.back().from_spool = true;
  }
  next_spool_ = spool_->busy() ? Clock::now() : Clock::now() + kSpoolPoll;
}

std::string Runner::consumers_between(const Outgoing& out, std::size_t from, std::size_t to) const {
  std::string names;
  for (std::size_t i = from; i < to && i < out.targets->size(); ++i) {
    names += (names.empty() ? "" : ", ") + consumers_[(*out.targets)[i]];
  }
  return names;
}

// Calls flush() or on_idle(): an exception counts as a failure, which is logged. Returns whether it worked.
bool Runner::call_stage(Status (Stage::*hook)(), const char* what) {
  Status status;
  try {
    status = (stage_.get()->*hook)();
  } catch (const std::exception& e) {
    status = Status::error(e.what());
  }
  if (!status) log_->error("{} failed: {}", what, status.message());
  return status.ok();
}

bool Runner::flush_stage() {
  const bool flushed = call_stage(&Stage::flush, "flush");
  if (flushed) {
    for (const auto& token : unflushed_acks_) acks_.add(token.origin, token.root, token.edge);
    unflushed_acks_.clear();
  }
  if (outbox_ && outbox_->has_unwritten()) {
    if (auto written = outbox_->commit(); !written) log_->error("cannot write the outbox: {}", written.message());
  }
  return flushed;
}

void Runner::report_heartbeat() {
  if (is_sink_ && work_done() != work_reported_) (void)flush_stage();
  report(kHeartbeat);
}

void Runner::idle_stage() {
  handled_since_idle_ = false;
  (void)call_stage(&Stage::on_idle, "idle flush");
}

void Runner::handle_control() {
  while (true) {
    std::vector<zmq::message_t> frames;
    auto got = zmq::recv_multipart(*control_, std::back_inserter(frames), zmq::recv_flags::dontwait);
    if (!got) return;
    if (frames.empty()) continue;
    const auto verb = frames[0].to_string_view();
    if (verb == kStop) {
      if (!stopping_) log_->info("stop requested by the daemon");
      begin_stop();
    } else if (verb == kStats) {
      report_heartbeat();
    } else if (verb == kDone) {
      if (frames.size() > 1) handle_done(frames[1].to_string_view());
    } else {
      log_->warn("unknown control verb '{}'", verb);
    }
  }
}

void Runner::handle_signal() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo != SIGTERM && info.ssi_signo != SIGINT) continue;
    if (::getppid() != parent_ && !orphaned_) {
      // The daemon died (its death sends SIGTERM to every stage it started): nothing will drain this stage's
      // consumers or acknowledge anything. Finish what is in hand and go, so that no process outlives it and
      // a new daemon starts on free sockets; what is unacknowledged stays in the outbox.
      orphaned_ = true;
      log_->warn("the daemon is gone: stopping now");
      begin_stop();
      input_drained_ = true;  // what waits in the input is sent again by its source
      stop_deadline_ = std::min(stop_deadline_, Clock::now() + kOrphanDrain);
      ack_deadline_ = Clock::now();
      continue;
    }
    if (!stopping_) log_->info("signal {}: finishing in-flight work", info.ssi_signo);
    begin_stop();
  }
}

// The drain deadline starts with the request, before send_pending() next runs in the same loop turn.
void Runner::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = Clock::now() + milliseconds(config_.pipeline.get_int("drain_timeout_ms"));
  // Half the drain for the acknowledgements: the stages after the source drain in the other half.
  ack_deadline_ = Clock::now() + milliseconds(config_.pipeline.get_int("drain_timeout_ms") / 2);
}

milliseconds Runner::poll_timeout(Clock::time_point now) const {
  auto next = std::min(next_heartbeat_, next_flush_);
  if (stage_config_.descriptor->role == StageRole::Source && !stopping_ && pending_.empty() && room_in_flight() > 0) {
    next = std::min({next, next_produce_, next_spool_});
  }
  if (outbox_ && outbox_->size() > 0) next = std::min(next, next_resend_);
  if (retry_document_) next = std::min(next, retry_at_);
  if (!pending_.empty()) next = std::min(next, now + milliseconds(50));  // re-check send deadlines
  if (stopping_) next = std::min(next, now + milliseconds(20));
  auto wait = std::chrono::duration_cast<milliseconds>(next - now);
  return std::clamp(wait, milliseconds(0), milliseconds(1000));
}

int Runner::run() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_ = ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);

  if (auto ready = setup(); !ready) {
    if (!log_) log_ = make_logger(identity_.empty() ? stage_config_.name : identity_, "info");
    log_->error("cannot start: {}", ready.message());
    send_control(kFailed, nlohmann::json{{"reason", ready.message()}, {"pid", ::getpid()}});
    return 2;
  }
  report(kReady);
  log_->info("ready ({} input endpoints, {} outputs)", input_endpoints(config_, stage_config_.name).size(),
             outputs_.size());

  const auto heartbeat = milliseconds(config_.pipeline.get_int("heartbeat_ms"));
  const auto flush_interval = milliseconds(config_.pipeline.get_int("flush_interval_ms"));
  auto now = Clock::now();
  next_heartbeat_ = now + heartbeat;
  next_flush_ = now + flush_interval;
  next_produce_ = now;

  while (true) {
    const bool want_input = input_ && pending_.empty() && !retry_document_ && !(stopping_ && input_drained_);
    std::vector<zmq::pollitem_t> items;
    items.push_back({static_cast<void*>(*control_), 0, ZMQ_POLLIN, 0});
    items.push_back({nullptr, signal_fd_, ZMQ_POLLIN, 0});
    if (want_input) items.push_back({static_cast<void*>(*input_), 0, ZMQ_POLLIN, 0});
    if (!pending_.empty()) {
      const Outgoing& head = pending_.front();
      if (head.next_output < outputs_of(head)) {
        items.push_back({static_cast<void*>(output_socket(head)), 0, ZMQ_POLLOUT, 0});
      }
    }
    try {
      zmq::poll(items.data(), items.size(), poll_timeout(Clock::now()));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) log_->error("poll failed: {}", e.what());
    }
    if (items[1].revents & ZMQ_POLLIN) handle_signal();
    if (items[0].revents & ZMQ_POLLIN) handle_control();

    bool input_empty = false;
    if (want_input) {
      // Take a bounded batch so control messages and timers are never starved.
      int taken = 0;
      while (taken < 256 && pending_.empty() && !retry_document_) {
        if (!receive_one()) {
          input_empty = true;
          break;
        }
        ++taken;
      }
      if (stopping_ && taken == 0) input_drained_ = true;
    }
    now = Clock::now();
    if (retry_document_ && now >= retry_at_) {
      Document document = std::move(*retry_document_);
      retry_document_.reset();
      process(std::move(document));
    }
    if (outbox_ && pending_.empty() && now >= next_resend_ && !(stopping_ && now > ack_deadline_)) resend_overdue();
    // Sources produce while they have room for more unacknowledged documents (back-pressure from the sinks).
    if (is_source_ && !stopping_ && pending_.empty() && room_in_flight() > 0 && now >= next_spool_) take_replays();
    if (is_source_ && !stopping_ && pending_.empty() && room_in_flight() > 0 && now >= next_produce_) {
      milliseconds delay{1000};
      try {
        delay = stage_->produce(*this, static_cast<int>(std::min<std::int64_t>(kSourceBudget, room_in_flight())));
      } catch (const std::exception& e) {
        log_->error("produce failed: {}", e.what());
      }
      next_produce_ = Clock::now() + std::max(delay, milliseconds(0));
    }
    send_pending();
    // Idle: everything taken in is handled and sent on. Nothing may stay held (a sink's transaction), and
    // the daemon hears of the finished work now rather than at the next heartbeat, which a crash would lose.
    const bool idle = pending_.empty() && !retry_document_ && (!input_ || input_empty);
    if (idle && handled_since_idle_) idle_stage();
    now = Clock::now();
    if (now >= next_flush_) {
      flush_stage();
      next_flush_ = now + flush_interval;
    }
    if (now >= next_heartbeat_ || (idle && work_done() != work_reported_)) {
      report_heartbeat();
      next_heartbeat_ = now + heartbeat;
    }
    send_acks();
    const bool input_done = !input_ || input_drained_;
    // A source stays until what it sent is acknowledged (or the drain deadline passes: then the outbox
    // keeps it for the next start), sending again what is overdue.
    const bool acknowledged = !outbox_ || outbox_->size() == 0 || now > ack_deadline_;
    if (stopping_ && pending_.empty() && (!retry_document_ || now > stop_deadline_) && input_done && acknowledged) {
      if (retry_document_) {
        dead_letter("stopping: still failing after the drain timeout", *retry_document_);
        retry_document_.reset();
      }
      break;
    }
  }
  const bool flushed = flush_stage();
  send_acks();
  if (outbox_ && outbox_->size() > 0) {
    log_->warn("{} document(s) not acknowledged by the drain deadline: the outbox keeps them for the next start",
               outbox_->size());
  }
  try {
    stage_->stop();
  } catch (const std::exception& e) {
    log_->error("stop failed: {}", e.what());
  }
  report(kStopped);
  log_->info("stopped: received {}, forwarded {}, dropped {}, dead-lettered {}", received_, forwarded_, dropped_,
             dead_lettered_);
  if (!flushed) {
    log_->error("the last flush failed: what this stage handled may not be durable; exiting 1");
    return 1;
  }
  return 0;
}

}  // namespace

std::string replica_identity(const std::string& stage, int replica) { return stage + "#" + std::to_string(replica); }

int run_stage_process(const PipelineConfig& config, const StageConfig& stage, int replica) {
  Runner runner(config, stage, replica);
  return runner.run();
}

int run_filter(const StageDescriptor& descriptor, const Options& options, const std::string& state_dir,
               std::istream& in, std::ostream& out, std::ostream& err) {
  Counters counters;
  StageContext context;
  context.name = descriptor.type;
  context.state_dir = state_dir;
  context.stage_dir = std::filesystem::path(state_dir) / descriptor.type;
  context.options = &options;
  context.log = make_logger(descriptor.type, "warn");
  context.counters = &counters;
  context.dead_letter = [&err](const std::string& reason, const std::string& id, const std::string&) {
    err << "dead letter " << id << ": " << reason << "\n";
  };
  std::unique_ptr<Stage> stage;
  try {
    stage = descriptor.create(context);
    if (auto started = stage->start(); !started) {
      err << "vnawire " << descriptor.type << ": cannot start: " << started.message() << "\n";
      return 2;
    }
  } catch (const std::exception& e) {
    err << "vnawire " << descriptor.type << ": cannot start: " << e.what() << "\n";
    return 2;
  }
  std::string line;
  std::size_t line_number = 0, failed = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
      err << "line " << line_number << ": not a JSON object, skipped\n";
      ++failed;
      continue;
    }
    auto id = record.find("id");
    if (id == record.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
      err << "line " << line_number << ": the record has no string \"id\", skipped\n";
      ++failed;
      continue;
    }
    Document document{Header{id->get<std::string>(), 0, ""}, std::move(record)};
    Verdict verdict;
    for (int attempt = 0; attempt <= kMaxRetries; ++attempt) {
      try {
        verdict = stage->on_message(document);
      } catch (const std::exception& e) {
        verdict = Verdict::dead_letter(std::string("stage error: ") + e.what());
      }
      if (verdict.disposition != Disposition::Retry) break;
      std::this_thread::sleep_for(kRetryBase * (1 << attempt));
    }
    switch (verdict.disposition) {
      case Disposition::Forward:
      case Disposition::Route:  // a filter has one output: routed records are written too
        out << document.record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        break;
      case Disposition::Drop:
        break;
      case Disposition::DeadLetter:
      case Disposition::Retry:
        err << "line " << line_number << " (" << document.header.id << "): " << verdict.reason << "\n";
        ++failed;
        break;
    }
  }
  (void)stage->flush();
  stage->stop();
  out.flush();
  if (failed > 0) err << "vnawire " << descriptor.type << ": " << failed << " record(s) could not be processed\n";
  return failed > 0 ? 1 : 0;
}

}  // namespace vnawire::runtime
