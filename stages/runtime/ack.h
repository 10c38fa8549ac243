// End-to-end acknowledgements (docs/protocol.md): a document's tree of copies is tracked by XOR-ing random
// 64-bit edge tokens, so that the daemon knows when every copy reached a sink, a drop or a dead letter
// without knowing the pipeline's shape or the order of the reports.
//
// The source gives each send a root R and each copy it hands on an edge token e_i, and reports
// R: e_1 ^ ... ^ e_k. A stage that takes in a copy with edge e and hands on copies with edges f_j reports
// R: e ^ f_1 ^ ... ^ f_m (m = 0 for a drop, a dead letter or a sink's durable store). Each edge is XOR-ed in
// exactly twice (when made, when consumed), so R's value is 0 once every copy is finished, whatever order
// the reports came in; a missing report (a process killed) keeps it from 0 (but for a 2^-64 chance).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vnawire::runtime {

// The header's ack field: "<origin>/<root>/<edge>", origin the source replica's identity ("fetch#0"),
// root and edge 16 lower-case hex digits each.
struct AckToken {
  std::string origin;
  std::uint64_t root = 0;
  std::uint64_t edge = 0;
};

std::string format_ack(const AckToken& token);
std::optional<AckToken> parse_ack(std::string_view text);

// 16 lower-case hex digits, and back (nullopt unless exactly 16 hex digits).
std::string token_hex(std::uint64_t value);
std::optional<std::uint64_t> parse_token_hex(std::string_view text);

// A random non-zero 64-bit token (from a per-thread generator seeded by the OS).
std::uint64_t random_token();

// Contributions waiting to be reported: (origin, root) -> XOR, merged as they come.
class AckBatch {
 public:
  void add(const std::string& origin, std::uint64_t root, std::uint64_t value);
  bool empty() const { return values_.empty(); }
  std::size_t size() const { return values_.size(); }
  // The body of an ACK control message: {"acks": [[origin, root hex, value hex], ...]}; empties the batch.
  nlohmann::json take();

 private:
  std::map<std::pair<std::string, std::uint64_t>, std::uint64_t> values_;
};

// The daemon's side: the XOR of each root's reports, until it is 0.
class Acker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Acker(std::size_t max_roots = 1'000'000) : max_roots_(max_roots) {}

  // XORs one report in; true when the root is complete (its value went to 0), which forgets it.
  bool apply(const std::string& origin, std::uint64_t root, std::uint64_t value, Clock::time_point now);
  // Applies the body of an ACK message; calls done(origin, root) for each root it completes. Returns the
  // number of entries, or -1 when the body is malformed (nothing of it applied past the bad entry).
  int apply_message(const nlohmann::json& body, Clock::time_point now,
                    const std::function<void(const std::string& origin, std::uint64_t root)>& done);
  // Forgets roots first seen before `oldest`: copies lost with a killed process, which the source sends
  // again on its own. Returns how many.
  std::size_t expire(Clock::time_point oldest);
  std::size_t size() const { return roots_.size(); }
  std::uint64_t completed() const { return completed_; }
  std::uint64_t evicted() const { return evicted_; }

 private:
  struct Entry {
    std::uint64_t value = 0;
    Clock::time_point first_seen;
  };
  struct Key {
    std::string origin;
    std::uint64_t root;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  std::size_t max_roots_;
  std::unordered_map<Key, Entry, KeyHash> roots_;
  std::uint64_t completed_ = 0;
  std::uint64_t evicted_ = 0;  // roots not tracked because max_roots was reached
};

// Parses one [origin, root hex, value hex] entry of an ACK body; false when malformed.
bool parse_ack_entry(const nlohmann::json& entry, std::string& origin, std::uint64_t& root, std::uint64_t& value);

}  // namespace vnawire::runtime
