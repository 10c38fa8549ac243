// Handing documents on: the queue of outgoing documents, sends with their deadlines, what is given up and
// dead-lettered, and the replay spool of a source.
#include "stages/runtime/stage_runner_impl.h"

namespace vnawire::runtime::detail {

void Runner::queue(Document document, const std::string& route) {
  // The copy it came in as; a source starts a new tree (whatever header a replayed dead letter had).
  std::optional<AckToken> input;
  if (!is_source_ && acks_on_ && !document.header.ack.empty()) input = parse_ack(document.header.ack);
  if (is_source_ && acks_on_) input = AckToken{identity_, random_token(), 0};
  if (is_source_) metrics_.last_document(document.header.id, wall_ms());
  document.header.ack.clear();
  Frames frames = encode(document, adds_members_);
  std::string().swap(document.received);  // in the frames now; the queue keeps the record only
  Outgoing out{std::move(document), std::move(frames), &regular_outputs_, route, 0, Clock::now()};
  if (!route.empty()) out.targets = &route_outputs_.at(route);
  if (input) set_up_copies(out, *input);
  pending_.push_back(std::move(out));
}

void Runner::dead_letter(const std::string& reason, std::string_view id, std::string_view header,
                         std::string_view payload, ErrorKind kind) {
  ++dead_lettered_;
  metrics_.error(kind);
  log_->warn("dead-lettered {}: {}", id.empty() ? std::string_view("(no id)") : id, reason);
  if (auto written = dead_letters_.write(reason, id, header, payload); !written) {
    counters_.add(kDeadLetterLost);
    log_->error("could not write the dead letter: {}", written.message());
  }
}

void Runner::dead_letter(const std::string& reason, const Document& document, ErrorKind kind) {
  Frames frames = encode(document, adds_members_);
  dead_letter(reason, document.header.id, frames.header, frames.payload, kind);
  acknowledge(document);  // a dead letter is an end: the record is durable (DeadLetterWriter syncs it)
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
              true, ErrorKind::TooLarge);
      pending_.pop_front();
      continue;
    }
    while (out.next_output < outputs_of(out) && send_from_front()) {
    }
    if (out.next_output < outputs_of(out)) {
      const auto now = Clock::now();
      const bool timed_out = send_timeout.count() > 0 && now - std::max(out.since, last_sent_) > send_timeout;
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
    last_sent_ = Clock::now();
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

// ZeroMQ and the kernel cost about as much per frame as per 4 KB of it (docs/performance.md, change 40), so
// documents that are ready together leave together, in one frame. A batch takes the documents from the front of the
// queue that go to the same socket next (all of them, in a pipeline without fan-out or routes) up to batch_documents
// and kBatchBytes; nothing waits for a batch to fill. Each document of a batch has then been taken by that socket,
// exactly as if sent alone, so what follows (counts, acknowledgements, timeouts) does not change.
bool Runner::send_from_front() {
  Outgoing& front = pending_.front();
  const std::size_t output = (*front.targets)[front.next_output];
  zmq::socket_t& socket = outputs_[output];
  const std::size_t cap = std::min<std::size_t>(kBatchBytes, static_cast<std::size_t>(max_message_bytes_));
  std::size_t count = 0;
  if (output_batches_[output] && front.bytes() < cap) {
    batch_body_.clear();
    for (const Outgoing& out : pending_) {
      if (count == batch_documents_ || out.next_output >= outputs_of(out) || (*out.targets)[out.next_output] != output)
        break;
      const std::string& header = out.header_for(out.next_output);
      if (batch_body_.size() + header.size() + out.frames.payload.size() + 24 > cap) break;
      append_to_batch(batch_body_, header, out.frames.payload);
      ++count;
    }
  }
  try {
    if (count > 1) {
      if (!socket.send(zmq::buffer(encode_batch_header(count)), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return false;
      // Once the first frame is queued the rest of the message is accepted as a whole.
      socket.send(zmq::buffer(batch_body_), zmq::send_flags::none);
    } else {
      count = 1;
      if (!socket.send(zmq::buffer(front.header_for(front.next_output)),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return false;
      socket.send(zmq::buffer(front.frames.payload), zmq::send_flags::none);
    }
  } catch (const zmq::error_t& e) {
    log_->error("send failed: {}", e.what());
    return false;
  }
  auto it = pending_.begin();
  for (std::size_t i = 0; i < count; ++i, ++it) ++it->next_output;
  return true;
}

void Runner::give_up(const Outgoing& out, const std::string& reason, bool write_dead_letter, ErrorKind kind) {
  if (write_dead_letter) {
    dead_letter(reason, out.document.header.id, out.frames.header, out.frames.payload, kind);
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

}  // namespace vnawire::runtime::detail
