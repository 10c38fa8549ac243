// parse_json must return exactly what nlohmann::json::parse(text, nullptr, false) returns: same values, same
// number types, same refusals.
#include "stages/runtime/json_parse.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "stages/runtime/json_dump.h"

namespace vnawire::runtime {
namespace {

// Equal values of equal types all the way down (nlohmann's == takes 1 and 1u, or 1 and 1.0, as equal).
bool identical(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(), jt = b.begin(); it != a.end(); ++it, ++jt) {
      if (it.key() != jt.key() || !identical(*it, *jt)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!identical(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_number_float())
    return a.get<double>() == b.get<double>() && std::signbit(a.get<double>()) == std::signbit(b.get<double>());
  return a.is_discarded() || a == b;
}

void expect_same(const std::string& text) {
  const nlohmann::json ours = parse_json(text);
  const nlohmann::json reference = nlohmann::json::parse(text, nullptr, false);
  EXPECT_TRUE(identical(ours, reference))
      << "input: " << text << "\nours: " << ours.dump() << "\nnlohmann: " << reference.dump();
}

TEST(JsonParse, ValuesAndNumberTypesAsNlohmann) {
  for (
      const char* text :
      {R"({"id":"a","n":0,"neg":-0,"big":18446744073709551615,"min":-9223372036854775808,"f":1.5,"e":1E5,"e2":-2.5e-3})",
       R"({"s":"tab\tnl\nq\"bs\\sl\/b\bf\fr\r","u":"\u00e9\u6f22\ud83d\ude42\u0000","raw":"Hà Nội – 漢 🙂"})",
       R"( { "a" : [ 1 , 2 , [ ] , { } , true , false , null ] , "a" : "last wins" } )", R"([])", R"("top")", "42",
       "-1", "1.0", "0.1e+2", "\t\r\n {}\n", R"({"x":{"y":{"z":[[[["deep"]]]]}}})"}) {
    expect_same(text);
  }
}

TEST(JsonParse, RefusalsAndHandOversAsNlohmann) {
  for (const std::string& text : std::vector<std::string>{"",
                                                          " ",
                                                          "{",
                                                          "}",
                                                          "{\"a\":}",
                                                          "{\"a\" 1}",
                                                          "{\"a\":1,}",
                                                          "[1,]",
                                                          "[01]",
                                                          "-",
                                                          "1.",
                                                          ".5",
                                                          "1e",
                                                          "+1",
                                                          "nul",
                                                          "true false",
                                                          "{\"a\":1}x",
                                                          "\"unterminated",
                                                          "\"bad \\x escape\"",
                                                          "\"\\u12\"",
                                                          "\"\\ud800\"",
                                                          "\"\\udc00\"",
                                                          "\"\\ud800\\u0041\"",
                                                          std::string("\"nul \0 byte\"", 12),
                                                          "\"ctl \x01\"",
                                                          "\"\xc3\"",
                                                          "\"\xed\xa0\x80\"",
                                                          "\"\xf4\x90\x80\x80\"",
                                                          "\xef\xbb\xbf{\"bom\":1}",
                                                          "18446744073709551616",
                                                          "-9223372036854775809",
                                                          "1e999",
                                                          "-1e999",
                                                          "[1e-400]",
                                                          "123456789012345678901234567890",
                                                          std::string(300, '[') + std::string(300, ']'),
                                                          "{\"a\":[1,2,{\"b\":null}]]"}) {
    expect_same(text);
  }
}

// Valid records, then the same with random bytes changed or cut: every answer, value or refusal, is
// nlohmann's.
TEST(JsonParse, RandomEditsOfRecordsMatchNlohmann) {
  std::mt19937 random(5);
  const nlohmann::json record = {
      {"id", "f-0123"}, {"body", "Hà Nội (VNA) – « texte »\n\"cité\" \\ 漢 🙂"},
      {"n", 42},        {"x", -7},
      {"f", 0.25},      {"lang", {{"code", "fr"}, {"top", {{{"code", "fr"}, {"share", 0.9}}}}}},
      {"ok", true},     {"none", nullptr}};
  const std::string good = dump_json(record);
  // Its length from the array, not counted by hand: the NUL inside it ends it for strlen.
  static constexpr char kSymbols[] = "{}[]:,\"\\/ -+.eE0123456789tfnu\x00\x1f\x7f";
  const std::string alphabet = std::string(kSymbols, sizeof kSymbols - 1) + "\xc3\xa9\xed\xf0\xff";
  for (int round = 0; round < 20000; ++round) {
    std::string text = good;
    const int edits = static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) text[random() % text.size()] = alphabet[random() % alphabet.size()];
    if (round % 5 == 0) text.resize(random() % (text.size() + 1));
    const nlohmann::json ours = parse_json(text);
    const nlohmann::json reference = nlohmann::json::parse(text, nullptr, false);
    ASSERT_TRUE(identical(ours, reference)) << "round " << round << ": " << text;
  }
}

}  // namespace
}  // namespace vnawire::runtime
