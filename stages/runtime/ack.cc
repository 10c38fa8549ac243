// Acknowledgement tokens, the stage's report batch and the daemon's XOR table.
#include "stages/runtime/ack.h"

#include <sys/random.h>

#include <charconv>
#include <random>

#include <nlohmann/json.hpp>

namespace vnawire::runtime {
namespace {

std::string hex16(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[static_cast<std::size_t>(i)] = kDigits[value & 15];
  return out;
}

std::optional<std::uint64_t> parse_hex16(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string token_hex(std::uint64_t value) { return hex16(value); }
std::optional<std::uint64_t> parse_token_hex(std::string_view text) { return parse_hex16(text); }

std::string format_ack(const AckToken& token) {
  return token.origin + "/" + hex16(token.root) + "/" + hex16(token.edge);
}

std::optional<AckToken> parse_ack(std::string_view text) {
  // The origin is a replica identity, which holds no '/': the last two fields are fixed-width.
  if (text.size() < 1 + 1 + 16 + 1 + 16) return std::nullopt;
  const std::size_t edge_at = text.size() - 16, root_at = edge_at - 17;
  if (text[edge_at - 1] != '/' || text[root_at - 1] != '/') return std::nullopt;
  const auto root = parse_hex16(text.substr(root_at, 16));
  const auto edge = parse_hex16(text.substr(edge_at, 16));
  const std::string_view origin = text.substr(0, root_at - 1);
  if (!root || !edge || *root == 0 || origin.empty() || origin.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  for (char c : origin) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
  }
  return AckToken{std::string(origin), *root, *edge};
}

std::uint64_t random_token() {
  thread_local std::mt19937_64 generator = [] {
    std::uint64_t seed = 0;
    if (::getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) {
      seed = std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32);
    }
    return std::mt19937_64(seed);
  }();
  std::uint64_t value = 0;
  while (value == 0) value = generator();
  return value;
}

void AckBatch::add(const std::string& origin, std::uint64_t root, std::uint64_t value) {
  values_[{origin, root}] ^= value;
}

nlohmann::json AckBatch::take() {
  nlohmann::json acks = nlohmann::json::array();
  for (const auto& [key, value] : values_) acks.push_back({key.first, hex16(key.second), hex16(value)});
  values_.clear();
  return nlohmann::json{{"acks", std::move(acks)}};
}

std::size_t Acker::KeyHash::operator()(const Key& key) const noexcept {
  return std::hash<std::string>{}(key.origin) ^ (key.root * 0x9e3779b97f4a7c15ULL);
}

bool Acker::apply(const std::string& origin, std::uint64_t root, std::uint64_t value, Clock::time_point now) {
  auto it = roots_.find(Key{origin, root});
  if (it == roots_.end()) {
    if (value == 0) return false;  // nothing to track
    // A table this full means reports are being lost or flooded: the root is not tracked, and its source
    // sends the document again when no DONE comes.
    if (roots_.size() >= max_roots_) {
      ++evicted_;
      return false;
    }
    it = roots_.emplace(Key{origin, root}, Entry{0, now}).first;
  }
  it->second.value ^= value;
  if (it->second.value != 0) return false;
  roots_.erase(it);
  ++completed_;
  return true;
}

std::size_t Acker::expire(Clock::time_point oldest) {
  return std::erase_if(roots_, [&](const auto& entry) { return entry.second.first_seen < oldest; });
}

int Acker::apply_message(const nlohmann::json& body, Clock::time_point now,
                         const std::function<void(const std::string& origin, std::uint64_t root)>& done) {
  const auto acks = body.find("acks");
  if (acks == body.end() || !acks->is_array()) return -1;
  int applied = 0;
  std::string origin;
  std::uint64_t root = 0, value = 0;
  for (const auto& entry : *acks) {
    if (!parse_ack_entry(entry, origin, root, value)) return -1;
    if (apply(origin, root, value, now)) done(origin, root);
    ++applied;
  }
  return applied;
}

bool parse_ack_entry(const nlohmann::json& entry, std::string& origin, std::uint64_t& root, std::uint64_t& value) {
  if (!entry.is_array() || entry.size() != 3 || !entry[0].is_string() || !entry[1].is_string() ||
      !entry[2].is_string()) {
    return false;
  }
  origin = entry[0].get<std::string>();
  const auto parsed_root = parse_hex16(entry[1].get_ref<const std::string&>());
  const auto parsed_value = parse_hex16(entry[2].get_ref<const std::string&>());
  if (origin.empty() || !parsed_root || !parsed_value) return false;
  root = *parsed_root;
  value = *parsed_value;
  return true;
}

}  // namespace vnawire::runtime
