// Acknowledgements in the stage loop: edge tokens for each copy handed on, reports, and the source's outbox
// (docs/protocol.md).
#include "stages/runtime/json_parse.h"
#include "stages/runtime/stage_runner_impl.h"

namespace vnawire::runtime::detail {

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
  // Stopping, the drain's deadline is nearer than a backed-off resend may be (16 times ack_timeout_ms): what is
  // overdue by the plain timeout goes again now, or it would only be sent at the next start.
  for (const std::uint64_t seq : outbox_->due(now, ack_timeout_ms_, kSourceBudget, !stopping_)) {
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
                  entry.id, encode_header(header), *payload, ErrorKind::Unacknowledged);
      outbox_->done(seq);
      continue;
    }
    header.attempt = entry.attempt + 1;
    metrics_.replay();
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
  const auto body = parse_json(text);
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

}  // namespace vnawire::runtime::detail
