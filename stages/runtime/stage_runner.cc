// The stage process: one ZeroMQ context, one thread owning every socket, polling data, control and signals.
#include "stages/runtime/stage_runner.h"

#include "stages/runtime/json_dump.h"
#include "stages/runtime/json_parse.h"
#include "stages/runtime/stage_runner_impl.h"

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
namespace detail {

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
  adds_members_ = stage_config_.descriptor->adds_members;
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
  std::optional<CurveKeys> curve;
  if (curve_enabled(config_)) {
    auto keys = load_curve_keys(config_);
    if (!keys) return Status::error("CURVE: " + keys.error());
    curve = std::move(*keys);
    // Before any bind: a CURVE server socket that finds no handler would admit every client.
    if (!config_.consumers_of(stage_config_.name).empty()) {
      try {
        zap_ = std::make_unique<ZapHandler>(zmq_context_, curve->authorized, log_);
      } catch (const zmq::error_t& e) {
        return Status::error(std::string("CURVE: cannot start the authentication handler: ") + e.what());
      }
    }
  }
  try {
    control_.emplace(zmq_context_, zmq::socket_type::dealer);
    if (curve) make_curve_client(*control_, *curve);
    control_->set(zmq::sockopt::routing_id, identity_);
    control_->set(zmq::sockopt::linger, 2000);
    control_->set(zmq::sockopt::sndhwm, 100000);
    control_->connect(control_endpoint(config_));
    batch_documents_ = static_cast<std::size_t>(config_.pipeline.get_int("batch_documents"));
    for (const auto& consumer : config_.consumers_of(stage_config_.name)) {
      const StageConfig* reader = config_.find(consumer);
      // A program of the user's reads one document per message (protocol version 1 or 2).
      const bool program =
          reader != nullptr && reader->descriptor->program && !reader->descriptor->program(reader->options).empty();
      const bool batches = batch_documents_ > 1 && !program;
      zmq::socket_t push(zmq_context_, zmq::socket_type::push);
      push.set(zmq::sockopt::sndhwm, socket_hwm(batches));
      push.set(zmq::sockopt::linger, drain_ms);
      if (curve) make_curve_server(push, *curve);
      const std::string endpoint = output_bind_endpoint(config_, stage_config_.name, replica_, consumer);
      try {
        push.bind(endpoint);
      } catch (const zmq::error_t& e) {
        return Status::error("cannot bind " + endpoint + ": " + e.what());
      }
      outputs_.push_back(std::move(push));
      consumers_.push_back(consumer);
      output_batches_.push_back(batches);
      output_acks_.push_back(reader == nullptr || !reader->descriptor->acknowledges ||
                             reader->descriptor->acknowledges(reader->options));
    }
    auto inputs = input_endpoints(config_, stage_config_.name);
    if (!inputs.empty()) {
      input_.emplace(zmq_context_, zmq::socket_type::pull);
      input_->set(zmq::sockopt::rcvhwm, socket_hwm(batch_documents_ > 1));  // inputs are vnawire stages
      input_->set(zmq::sockopt::maxmsgsize, max_message_bytes_);
      input_->set(zmq::sockopt::linger, 0);
      if (curve) make_curve_client(*input_, *curve);
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

bool Runner::take_from_inbox() {
  if (inbox_.empty()) return false;
  Document document = std::move(inbox_.front());
  inbox_.pop_front();
  ++received_;
  take(std::move(document));
  return true;
}

bool Runner::receive_one() {
  if (take_from_inbox()) return true;
  if (stopping_ && input_drained_) return false;  // what is still in the socket is its source's to send again
  std::vector<zmq::message_t> frames;
  std::optional<std::size_t> got;
  try {
    got = zmq::recv_multipart(*input_, std::back_inserter(frames), zmq::recv_flags::dontwait);
  } catch (const zmq::error_t& e) {
    log_->error("receive failed: {}", e.what());
    return false;
  }
  if (!got) return false;
  if (frames.size() == 2 && is_batch_header(frames[0].to_string_view())) {
    take_batch(frames[0].to_string_view(), frames[1].to_string_view());
    take_from_inbox();
    return true;
  }
  ++received_;
  if (frames.size() != 2) {
    std::string_view head = frames.empty() ? std::string_view() : frames[0].to_string_view();
    std::string_view body = frames.size() > 1 ? frames[1].to_string_view() : std::string_view();
    dead_letter("malformed message: expected 2 frames, got " + std::to_string(frames.size()), "", head, body,
                ErrorKind::Malformed);
    return true;
  }
  auto document = decode(frames[0].to_string_view(), frames[1].to_string_view(), keep_payload());
  if (!document) {
    dead_letter("cannot decode: " + document.error(), "", frames[0].to_string_view(), frames[1].to_string_view(),
                ErrorKind::Decode);
    return true;
  }
  take(std::move(document.value()));
  return true;
}

// Each document of a batch counts, and fails, on its own; what cannot be read of it is one dead letter. The
// rest go to the inbox; a document counts as received when it is taken from there, as it would be taken from the
// socket: one that a killed process held there shows in the daemon's balance as not received.
void Runner::take_batch(std::string_view header, std::string_view body) {
  const Batch batch = decode_batch(header, body);
  for (const BatchEntry& entry : batch.entries) {
    auto document = decode(entry.header, entry.payload, keep_payload());
    if (!document) {
      ++received_;
      dead_letter("cannot decode: " + document.error(), "", entry.header, entry.payload, ErrorKind::Decode);
      continue;
    }
    inbox_.push_back(std::move(document.value()));
  }
  if (!batch.error.empty()) {
    ++received_;
    dead_letter(batch.error, "", header, batch.rest, ErrorKind::Malformed);
  }
}

void Runner::take(Document document) {
  if (!ahead_) {
    ahead_ = std::move(document);
    return;
  }
  Document current = std::move(*ahead_);
  const Clock::duration current_shown = ahead_shown_;
  ahead_ = std::move(document);
  const auto began = Clock::now();
  try {
    stage_->upcoming(*ahead_);
  } catch (const std::exception& e) {
    log_->debug("upcoming({}) failed: {}", ahead_->header.id, e.what());  // a hint only: on_message decides
  }
  ahead_shown_ = Clock::now() - began;
  process(std::move(current), current_shown);
}

void Runner::handle_ahead() {
  if (!ahead_ || retry_document_) return;
  Document current = std::move(*ahead_);
  ahead_.reset();
  process(std::move(current), std::exchange(ahead_shown_, Clock::duration{}));
}

void Runner::process(Document document, Clock::duration shown) {
  handled_since_idle_ = true;
  if (document.header.attempt > 0) metrics_.replay();
  metrics_.last_document(document.header.id, wall_ms());
  Verdict verdict;
  bool threw = false;
  const auto began = Clock::now();
  try {
    verdict = stage_->on_message(document);
  } catch (const std::exception& e) {
    verdict = Verdict::dead_letter(std::string("stage error: ") + e.what());
    threw = true;
  }
  metrics_.observe_latency(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - began + shown).count()));
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
      metrics_.dropped(verdict.reason);
      log_->debug("dropped {}: {}", document.header.id, verdict.reason);
      acknowledge(document);
      break;
    case Disposition::Route:
      retries_ = 0;
      if (!route_outputs_.count(verdict.target)) {
        dead_letter("stage error: routed to '" + verdict.target + "', which is not a declared route target", document,
                    ErrorKind::StageError);
        break;
      }
      log_->debug("routed {} to {}: {}", document.header.id, verdict.target, verdict.reason);
      queue(std::move(document), verdict.target);
      break;
    case Disposition::DeadLetter:
      retries_ = 0;
      dead_letter(verdict.reason, document, threw ? ErrorKind::StageError : ErrorKind::Rejected);
      break;
    case Disposition::Retry:
      ++retried_;
      if (++retries_ > kMaxRetries) {
        retries_ = 0;
        dead_letter("gave up after " + std::to_string(kMaxRetries) + " retries: " + verdict.reason, document,
                    ErrorKind::RetriesExhausted);
        break;
      }
      log_->warn("will retry {} ({}): {}", document.header.id, retries_, verdict.reason);
      retry_at_ = Clock::now() + kRetryBase * (1 << std::min(retries_ - 1, 10));
      retry_document_ = std::move(document);
      break;
  }
}

// Calls flush() or on_idle(): an exception counts as a failure, which is logged. Returns whether it worked.
bool Runner::call_stage(Status (Stage::*hook)(), const char* what) {
  Status status;
  try {
    status = (stage_.get()->*hook)();
  } catch (const std::exception& e) {
    status = Status::error(e.what());
  }
  if (!status) {
    metrics_.error(ErrorKind::FlushFailed);
    log_->error("{} failed: {}", what, status.message());
  }
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

void Runner::idle_stage() {
  (void)call_stage(&Stage::on_idle, "idle flush");
  // A stage that kept work open is asked again at the next idle turn, at most kHoldRecheck later (poll_timeout),
  // so that it can let it go when its own limit passes (the SQLite sink: a transaction 100 ms old).
  handled_since_idle_ = stage_holding();
}

milliseconds Runner::poll_timeout(Clock::time_point now) const {
  auto next = std::min(next_heartbeat_, next_flush_);
  if (stage_config_.descriptor->role == StageRole::Source && !stopping_ && pending_.empty() && room_in_flight() > 0) {
    next = std::min({next, next_produce_, next_spool_});
  }
  if (outbox_ && outbox_->size() > 0) next = std::min(next, next_resend_);
  if (retry_document_) next = std::min(next, retry_at_);
  if (!inbox_.empty() && pending_.empty() && !retry_document_ && !ahead_) next = now;  // the rest of a batch
  if (!pending_.empty()) next = std::min(next, now + milliseconds(50));  // re-check send deadlines
  if (stopping_) next = std::min(next, now + milliseconds(20));
  if (stage_holding()) next = std::min(next, now + kHoldRecheck);
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
    const bool want_input =
        input_ && pending_.empty() && !retry_document_ && !ahead_ && !(stopping_ && input_drained_ && inbox_.empty());
    std::vector<zmq::pollitem_t> items;
    items.push_back({static_cast<void*>(*control_), 0, ZMQ_POLLIN, 0});
    items.push_back({nullptr, signal_fd_, ZMQ_POLLIN, 0});
    if (want_input && inbox_.empty()) items.push_back({static_cast<void*>(*input_), 0, ZMQ_POLLIN, 0});
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
      // Take what is waiting, a bounded batch, before handing any of it on: the counts announced before the
      // sends, the acknowledgements and the poll are then paid once per batch, not per document. The bounds
      // keep control messages and timers from starving, and hold back at most kInputBatch documents (or
      // kInputBatchTime of work) from downstream; a stage whose input is not backed up takes one at a time.
      int taken = 0;
      const auto batch_deadline = Clock::now() + kInputBatchTime;
      while (taken < 256 && pending_.size() < kInputBatch && !retry_document_) {
        if (!receive_one()) {
          input_empty = true;
          break;
        }
        ++taken;
        if (!pending_.empty() && Clock::now() >= batch_deadline) break;
      }
      handle_ahead();  // the batch's last
      if (stopping_ && taken == 0) input_drained_ = true;
    }
    now = Clock::now();
    if (retry_document_ && now >= retry_at_) {
      Document document = std::move(*retry_document_);
      retry_document_.reset();
      process(std::move(document));
      handle_ahead();  // the one received behind it, once it passed
    }
    if (outbox_ && pending_.empty() && now >= next_resend_ && !(stopping_ && now > ack_deadline_)) resend_overdue();
    // Sources produce while they have room for more unacknowledged documents (back-pressure from the sinks).
    if (is_source_ && !stopping_ && pending_.empty() && room_in_flight() > 0 && now >= next_spool_) take_replays();
    if (is_source_ && !stopping_ && pending_.empty() && room_in_flight() > 0 && now >= next_produce_) {
      milliseconds delay{1000};
      try {
        delay = stage_->produce(*this, static_cast<int>(std::min<std::int64_t>(kSourceBudget, room_in_flight())));
      } catch (const std::exception& e) {
        metrics_.error(ErrorKind::ProduceFailed);
        log_->error("produce failed: {}", e.what());
      }
      next_produce_ = Clock::now() + std::max(delay, milliseconds(0));
    }
    send_pending();
    // Idle: everything taken in is handled and sent on. Nothing may stay held long (a sink's transaction), and
    // the daemon hears of the finished work now rather than at the next heartbeat, which a crash would lose.
    const bool idle = pending_.empty() && !retry_document_ && !ahead_ && inbox_.empty() && (!input_ || input_empty);
    if (idle && handled_since_idle_) idle_stage();
    now = Clock::now();
    if (now >= next_flush_) {
      flush_stage();
      next_flush_ = now + flush_interval;
    }
    // A sink holding a young transaction in a busy stream (Stage::holding) reports once it lets it go (it is
    // asked again, above) or at the next heartbeat or flush: reporting now would commit it.
    if (now >= next_heartbeat_ || (idle && work_done() != work_reported_ && !stage_holding())) {
      report_heartbeat();
      next_heartbeat_ = now + heartbeat;
    }
    send_acks();
    const bool input_done = !input_ || input_drained_;
    // A source stays until what it sent is acknowledged (or the drain deadline passes: then the outbox
    // keeps it for the next start), sending again what is overdue.
    const bool acknowledged = !outbox_ || outbox_->size() == 0 || now > ack_deadline_;
    // The rest of a received batch is handled before the stage stops, unless the drain timeout passes first.
    if (stopping_ && pending_.empty() && ((!retry_document_ && inbox_.empty()) || now > stop_deadline_) && input_done &&
        acknowledged) {
      const bool behind_failing = retry_document_.has_value();
      if (retry_document_) {
        dead_letter("stopping: still failing after the drain timeout", *retry_document_, ErrorKind::RetriesExhausted);
        retry_document_.reset();
      }
      received_ += inbox_.size();  // taken in, to be given up
      if (ahead_) inbox_.push_front(std::move(*ahead_));
      ahead_.reset();
      for (const Document& behind : inbox_) {
        if (acks_on_ && !behind.header.ack.empty()) {
          // Never tried: left unacknowledged, its source sends it again at the next start.
          log_->warn("stopping: {} not handled{}; its source sends it again", behind.header.id,
                     behind_failing ? " behind a document still failing" : " before the drain timeout");
        } else {
          dead_letter(behind_failing
                          ? "stopping: not handled, the document before it was still failing after the drain timeout"
                          : "stopping: not handled before the drain timeout",
                      behind, ErrorKind::RetriesExhausted);
        }
      }
      inbox_.clear();
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

}  // namespace detail

std::string replica_identity(const std::string& stage, int replica) { return stage + "#" + std::to_string(replica); }

int run_stage_process(const PipelineConfig& config, const StageConfig& stage, int replica) {
  detail::Runner runner(config, stage, replica);
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
    auto record = parse_json(line);
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
    for (int attempt = 0; attempt <= detail::kMaxRetries; ++attempt) {
      try {
        verdict = stage->on_message(document);
      } catch (const std::exception& e) {
        verdict = Verdict::dead_letter(std::string("stage error: ") + e.what());
      }
      if (verdict.disposition != Disposition::Retry) break;
      std::this_thread::sleep_for(detail::kRetryBase * (1 << attempt));
    }
    switch (verdict.disposition) {
      case Disposition::Forward:
      case Disposition::Route:  // a filter has one output: routed records are written too
        out << dump_json(document.record) << '\n';
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
