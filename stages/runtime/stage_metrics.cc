// The stage's own measurements, written into its reports to the daemon.
#include "stages/runtime/stage_metrics.h"

#include <algorithm>

namespace vnawire::runtime {
namespace {

// The part of a reason that names the kind of drop, not the document: before " of ", " is " or ':'.
std::string_view reason_head(std::string_view reason) {
  const std::size_t end = std::min({reason.find(" of "), reason.find(" is "), reason.find(':')});
  return reason.substr(0, std::min(end, std::size_t{48}));
}

}  // namespace

std::string drop_reason_label(std::string_view reason) {
  std::string label;
  for (char c : reason_head(reason)) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (plain) {
      label += c;
    } else if (!label.empty() && label.back() != '_') {
      label += '_';
    }
  }
  while (!label.empty() && label.back() == '_') label.pop_back();
  return label.empty() ? "unspecified" : label;
}

void StageMetrics::dropped(std::string_view reason) {
  // Compared on the raw head first: the label is only built for a reason not seen before.
  const std::string_view head = reason_head(reason);
  for (auto& [raw, count] : drop_heads_) {
    if (raw == head) {
      ++drops_[count].second;
      return;
    }
  }
  std::string label = drops_.size() >= kMaxDropReasons ? std::string("other") : drop_reason_label(reason);
  std::size_t slot = 0;
  while (slot < drops_.size() && drops_[slot].first != label) ++slot;
  if (slot == drops_.size()) drops_.emplace_back(std::move(label), 0);
  ++drops_[slot].second;
  if (drop_heads_.size() < 4 * kMaxDropReasons) drop_heads_.emplace_back(std::string(head), slot);
}

void StageMetrics::write(nlohmann::json& body) const {
  auto& latency = body["latency"];
  latency["buckets"] = latency_buckets_;
  latency["sum_us"] = latency_sum_us_;
  nlohmann::json errors = nlohmann::json::object();
  for (std::size_t i = 0; i < errors_.size(); ++i) {
    if (errors_[i] != 0) errors[std::string(kErrorKindNames[i])] = errors_[i];
  }
  body["errors"] = std::move(errors);
  nlohmann::json drops = nlohmann::json::object();
  for (const auto& [label, count] : drops_) drops[label] = count;
  body["dropped_by"] = std::move(drops);
  body["replays"] = replays_;
  if (!last_id_.empty()) body["last"] = {{"id", last_id_}, {"time_ms", last_time_ms_}};
}

}  // namespace vnawire::runtime
