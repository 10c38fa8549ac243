// A JSON reader that builds nlohmann's values itself; the codec's decode was three times its encode in the
// pipeline's profile, almost all of it nlohmann's lexer reading the body string byte by byte.
#include "stages/runtime/json_parse.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "stages/runtime/byte_scan.h"
#include "stages/runtime/codec.h"

namespace vnawire::runtime {
namespace {

constexpr int kMaxDepth = 256;  // deeper documents go to nlohmann, which keeps its own stack

// Every method returns false on anything it does not read exactly as nlohmann would; the caller then asks
// nlohmann, so a false here is never an answer, only a hand-over.
class Reader {
 public:
  explicit Reader(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  // Whether an object of the text repeated one of its keys (the value read keeps the last one).
  bool repeated_key() const { return repeated_key_; }

  bool document(nlohmann::json& out) {
    skip_space();
    if (!value(out, 0)) return false;
    skip_space();
    return p_ == end_;
  }

 private:
  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool value(nlohmann::json& out, int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return object(out, depth + 1);
      case '[':
        return array(out, depth + 1);
      case '"': {
        std::string text;
        if (!string(text)) return false;
        out = std::move(text);
        return true;
      }
      case 't':
        out = true;
        return literal("true");
      case 'f':
        out = false;
        return literal("false");
      case 'n':
        out = nullptr;
        return literal("null");
      default:
        return number(out);
    }
  }

  // The members of an object or the items of an array, from the opening bracket: `item` reads one.
  template <typename Item>
  bool sequence(char close, Item item) {
    ++p_;
    skip_space();
    if (p_ != end_ && *p_ == close) return ++p_, true;
    while (true) {
      if (!item()) return false;
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == close) return ++p_, true;
      if (*p_ != ',') return false;
      ++p_;
      skip_space();
    }
  }

  bool object(nlohmann::json& out, int depth) {
    if (depth > kMaxDepth) return false;
    out = nlohmann::json::object();
    auto& members = out.get_ref<nlohmann::json::object_t&>();
    return sequence('}', [&] {
      std::string key;
      if (p_ == end_ || *p_ != '"' || !string(key)) return false;
      skip_space();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      skip_space();
      // A repeated key keeps its last value, as nlohmann's parser does.
      const std::size_t before = members.size();
      nlohmann::json& member = members[std::move(key)];
      repeated_key_ = repeated_key_ || members.size() == before;
      return value(member, depth);
    });
  }

  bool array(nlohmann::json& out, int depth) {
    if (depth > kMaxDepth) return false;
    out = nlohmann::json::array();
    auto& items = out.get_ref<nlohmann::json::array_t&>();
    return sequence(']', [&] {
      items.emplace_back();
      return value(items.back(), depth);
    });
  }

  // At the opening quote. Runs between escapes are checked as UTF-8 on their own: a quote, a backslash or
  // a control byte never falls inside a multi-byte sequence.
  bool string(std::string& out) {
    const char* opening = p_++;
    while (true) {
      const char* run = p_;
      p_ = find_json_special(p_, end_);
      const std::string_view piece(run, static_cast<std::size_t>(p_ - run));
      if (!is_valid_utf8(piece)) return false;
      out.append(piece);
      if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20) return false;
      if (*p_++ == '"') return true;
      if (p_ == end_) return false;
      const char escape = *p_++;
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out += escape;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':  // rare in records (dump_json writes text as UTF-8): nlohmann reads this string whole
          return string_by_nlohmann(opening, out);
        default:
          return false;
      }
    }
  }

  // The string that starts at `opening`, decoded by nlohmann (\u escapes, surrogate pairs and its refusals).
  bool string_by_nlohmann(const char* opening, std::string& out) {
    const char* close = opening + 1;
    while (close != end_ && *close != '"') close += *close == '\\' && close + 1 != end_ ? 2 : 1;
    if (close == end_) return false;
    const auto decoded =
        nlohmann::json::parse(std::string_view(opening, static_cast<std::size_t>(close - opening + 1)), nullptr, false);
    if (!decoded.is_string()) return false;
    out = decoded.get<std::string>();
    p_ = close + 1;
    return true;
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  // JSON's grammar; integers as nlohmann keeps them (unsigned when not negative), others as doubles read by
  // strtod like nlohmann's lexer. Integers out of range and infinities go to nlohmann.
  bool number(nlohmann::json& out) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    if (integer) {
      std::uint64_t magnitude = 0;
      for (const char* d = start + (negative ? 1 : 0); d != p_; ++d) {
        const auto next = static_cast<std::uint64_t>(*d - '0');
        if (magnitude > (UINT64_MAX - next) / 10) return false;
        magnitude = magnitude * 10 + next;
      }
      if (!negative) {
        out = magnitude;
        return true;
      }
      if (magnitude > static_cast<std::uint64_t>(INT64_MAX) + 1) return false;
      out = magnitude == static_cast<std::uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<std::int64_t>(magnitude);
      return true;
    }
    const std::string token(start, p_);
    const double parsed = std::strtod(token.c_str(), nullptr);
    if (!std::isfinite(parsed)) return false;
    out = parsed;
    return true;
  }

  const char* p_;
  const char* end_;
  bool repeated_key_ = false;
};

}  // namespace

nlohmann::json parse_json(std::string_view text, bool* same_text) {
  nlohmann::json out;
  Reader reader(text);
  if (reader.document(out)) {
    if (same_text != nullptr) *same_text = !reader.repeated_key();
    return out;
  }
  if (same_text != nullptr) *same_text = false;
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace vnawire::runtime
