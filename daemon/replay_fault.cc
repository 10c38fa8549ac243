// Fault injection for the replay server: the KIND[=ARG]@PREFIX[*COUNT] syntax and which requests meet a fault.
#include "daemon/replay_site.h"

namespace vnawire::replay {
namespace {

enum class ArgForm { None, Number, OptionalNumber, Charset };

struct KindSpec {
  std::string_view name;
  Fault::Kind kind;
  ArgForm form;
  std::int64_t min = 0, max = 0, fallback = 0;
  std::string_view meaning = "";
};

// One row per kind: how its ARG is written and bounded.
constexpr KindSpec kKinds[] = {
    {"delay", Fault::Kind::Delay, ArgForm::Number, 0, 600000, 0, "milliseconds"},
    {"status", Fault::Kind::Status, ArgForm::Number, 200, 599, 0, "an HTTP status"},
    {"retry-after", Fault::Kind::RetryAfter, ArgForm::Number, 0, 86400, 0, "seconds"},
    {"truncate", Fault::Kind::Truncate, ArgForm::None},
    {"wrong-charset", Fault::Kind::WrongCharset, ArgForm::Charset},
    {"no-charset", Fault::Kind::NoCharset, ArgForm::None},
    {"redirect-loop", Fault::Kind::RedirectLoop, ArgForm::None},
    {"gzip-bomb", Fault::Kind::GzipBomb, ArgForm::OptionalNumber, 1, 1024, 64, "MiB"},
    {"oversize", Fault::Kind::Oversize, ArgForm::OptionalNumber, 1, 1024, 64, "MiB"},
};

std::optional<std::int64_t> parse_count(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool charset_name(std::string_view text) {
  if (text.empty() || text.size() > 40) return false;
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::string known_kinds() {
  std::string names;
  for (const auto& spec : kKinds) names += (names.empty() ? "" : ", ") + std::string(spec.name);
  return names;
}

}  // namespace

runtime::Result<Fault> parse_fault(const std::string& spec) {
  auto fail = [&](const std::string& why) {
    return runtime::Status::error("bad fault \"" + spec + "\": " + why +
                                  " (written KIND[=ARG]@PREFIX[*COUNT][~SECONDS])");
  };
  const std::size_t at = spec.find('@');
  if (at == std::string::npos) return fail("no @PREFIX");
  const std::string_view head = std::string_view(spec).substr(0, at);
  std::string_view where = std::string_view(spec).substr(at + 1);

  Fault fault;
  const std::size_t tilde = where.rfind('~');
  if (tilde != std::string_view::npos) {
    const auto seconds = parse_count(where.substr(tilde + 1));
    if (!seconds || *seconds == 0) return fail("~SECONDS must be a whole number of seconds above 0");
    fault.window = std::chrono::seconds(*seconds);
    where = where.substr(0, tilde);
  }
  const std::size_t star = where.rfind('*');
  if (star != std::string_view::npos) {
    const auto count = parse_count(where.substr(star + 1));
    if (!count) return fail("COUNT must be a whole number (0: every request)");
    fault.count = *count;
    where = where.substr(0, star);
  }
  if (where.empty() || where[0] != '/') return fail("PREFIX must be a path starting with /");
  if (where.find_first_of(" \t\r\n*") != std::string_view::npos) return fail("PREFIX holds a space or a *");
  fault.path_prefix = std::string(where);

  const std::size_t equals = head.find('=');
  const std::string_view name = head.substr(0, equals);
  const std::optional<std::string_view> arg =
      equals == std::string_view::npos ? std::nullopt : std::optional(head.substr(equals + 1));
  const KindSpec* kind = nullptr;
  for (const auto& candidate : kKinds) {
    if (candidate.name == name) kind = &candidate;
  }
  if (kind == nullptr) return fail("unknown kind \"" + std::string(name) + "\"; kinds are " + known_kinds());
  fault.kind = kind->kind;
  const std::string kind_name(kind->name);
  switch (kind->form) {
    case ArgForm::None:
      if (arg) return fail(kind_name + " takes no =ARG");
      break;
    case ArgForm::Charset:
      if (arg && !charset_name(*arg)) return fail("wrong-charset=ARG must be a charset name such as windows-1252");
      fault.charset = arg ? std::string(*arg) : "iso-8859-1";
      break;
    case ArgForm::Number:
    case ArgForm::OptionalNumber: {
      if (!arg && kind->form == ArgForm::Number)
        return fail(kind_name + " needs =ARG (" + std::string(kind->meaning) + ")");
      const auto value = arg ? parse_count(*arg) : std::optional(kind->fallback);
      if (!value || *value < kind->min || *value > kind->max) {
        return fail(kind_name + "=ARG must be " + std::string(kind->meaning) + " from " + std::to_string(kind->min) +
                    " to " + std::to_string(kind->max));
      }
      fault.arg = *value;
      break;
    }
  }
  return fault;
}

FaultBook::FaultBook(std::vector<Fault> faults)
    : faults_(std::move(faults)), used_(faults_.size(), 0), first_(faults_.size()) {}

FaultPlan FaultBook::take(std::string_view path) {
  FaultPlan plan;
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    const Fault& fault = faults_[i];
    const bool exhausted = fault.count > 0 && used_[i] >= fault.count;
    if (exhausted || !path.starts_with(fault.path_prefix)) continue;
    const auto now = std::chrono::steady_clock::now();
    if (used_[i] == 0) first_[i] = now;
    if (fault.window.count() > 0 && now - first_[i] >= fault.window) continue;  // the outage is over
    // Delays add up and leave the answer to the next fault; of the others, the first one listed wins.
    if (fault.kind == Fault::Kind::Delay) {
      plan.delay += std::chrono::milliseconds(fault.arg);
    } else if (plan.effect) {
      continue;
    } else {
      plan.effect = fault;
    }
    ++used_[i];
  }
  return plan;
}

}  // namespace vnawire::replay
