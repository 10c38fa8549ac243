// What a stage replica measures besides its document counts (latency, drops by reason, errors by kind, replays,
// last document), reported in every READY/HEARTBEAT/STOPPED body and read back by the daemon (daemon/replica.h).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vnawire::runtime {

// Upper bounds of the processing-latency buckets, in microseconds; one more bucket counts the rest (+Inf).
// Fixed, so that the stage only increments an array slot per document and the daemon can add replicas up.
inline constexpr std::array<std::uint64_t, 14> kLatencyBoundsUs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000};

// Why documents end in errors. The runtime knows each cause where it happens, so the kind is a slot index.
enum class ErrorKind : std::size_t {
  Malformed,         // a data message that is not two frames
  Decode,            // a header or payload the codec refused
  StageError,        // the stage threw, or asked for a route it does not have
  Rejected,          // the stage dead-lettered the document itself
  RetriesExhausted,  // Retry verdicts until the runtime gave up
  TooLarge,          // over max_message_bytes
  SendTimeout,       // downstream did not take it in time
  Unacknowledged,    // a source's document never acknowledged (max_attempts)
  FlushFailed,       // flush() or on_idle() failed
  ProduceFailed,     // a source's produce() threw
  Count,
};
inline constexpr std::array<std::string_view, static_cast<std::size_t>(ErrorKind::Count)> kErrorKindNames = {
    "malformed", "decode",       "stage_error",    "rejected",     "retries_exhausted",
    "too_large", "send_timeout", "unacknowledged", "flush_failed", "produce_failed"};

// A drop reason names the document ("duplicate of <id>"): its label is the text before " of ", " is " or ':', made
// of [a-z0-9_], so that the number of label values stays small. Past this many, reasons share "other".
inline constexpr std::size_t kMaxDropReasons = 16;
std::string drop_reason_label(std::string_view reason);

class StageMetrics {
 public:
  void observe_latency(std::uint64_t micros) {
    std::size_t slot = 0;
    while (slot < kLatencyBoundsUs.size() && micros > kLatencyBoundsUs[slot]) ++slot;
    ++latency_buckets_[slot];
    latency_sum_us_ += micros;
  }
  void error(ErrorKind kind) { ++errors_[static_cast<std::size_t>(kind)]; }
  void dropped(std::string_view reason);
  void replay() { ++replays_; }
  // The id is copied into a string that keeps its capacity, so a steady stream of ids does not allocate.
  void last_document(std::string_view id, std::int64_t wall_ms) {
    last_id_.assign(id);
    last_time_ms_ = wall_ms;
  }
  // Adds "latency", "errors", "dropped_by", "replays" and "last" to a report body (only what is non-empty).
  void write(nlohmann::json& body) const;

 private:
  std::array<std::uint64_t, kLatencyBoundsUs.size() + 1> latency_buckets_{};
  std::uint64_t latency_sum_us_ = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(ErrorKind::Count)> errors_{};
  std::vector<std::pair<std::string, std::uint64_t>> drops_;     // few reasons: a linear search beats a map
  std::vector<std::pair<std::string, std::size_t>> drop_heads_;  // a reason's raw head -> its slot in drops_
  std::uint64_t replays_ = 0;
  std::string last_id_;
  std::int64_t last_time_ms_ = 0;
};

}  // namespace vnawire::runtime
