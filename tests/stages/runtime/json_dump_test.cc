// dump_json must write exactly what nlohmann's dump(-1, ' ', false, replace) writes, on every kind of value.
#include "stages/runtime/json_dump.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "stages/runtime/json_parse.h"

namespace vnawire::runtime {
namespace {

std::string reference(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(JsonDump, EscapesAndScalarsAsNlohmannWritesThem) {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls += static_cast<char>(c);
  const nlohmann::json value = {
      {"controls", controls},
      {"quotes", "\"a\" \\b\\ /c/ \x7f"},
      {"text", "Hà Nội (VNA) – « guillemets » 漢字 🙂"},
      {"empty", ""},
      {"nested", {{"list", {1, -2, 1.5, 1e300, -0.0, true, false, nullptr}}, {"o", nlohmann::json::object()}}},
      {"arrays", {nlohmann::json::array(), {nlohmann::json::array()}, {{{"k", "v"}}}}},
      {"limits", {std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<std::int64_t>::min()}},
      {"nan", std::numeric_limits<double>::quiet_NaN()},
      {"clé \n\"", "key escaped too"},
  };
  EXPECT_EQ(dump_json(value), reference(value));
  EXPECT_EQ(dump_json(nlohmann::json("scalar")), "\"scalar\"");
  EXPECT_EQ(dump_json(nlohmann::json(7)), "7");
  EXPECT_EQ(dump_json(nlohmann::json()), "null");
}

// The writer and the reader look for the next byte to escape sixteen bytes at a time: each such byte, and
// the bytes next to them in value that must not be taken for one (0x20, 0x7F, 0x80, 0xFF in UTF-8), at every
// offset of the first blocks, are written as nlohmann writes them and read back as they were.
TEST(JsonDump, EachByteToEscapeIsFoundAtEveryOffsetAndReadBack) {
  const std::vector<std::string> bytes = {"\"", "\\",   "\n", std::string(1, '\0'), "\x01",     "\x1f",
                                          " ",  "\x7f", "/",  "\xc2\x80",           "\xc3\xbf", "\xef\xbf\xbf"};
  for (std::size_t at = 0; at < 40; ++at) {
    for (const std::string& byte : bytes) {
      const std::string text = std::string(at, 'a') + byte + std::string(at % 19, 'z') + byte;
      const nlohmann::json value = {{"body", text}};
      const std::string written = dump_json(value);
      ASSERT_EQ(written, reference(value)) << at;
      ASSERT_EQ(parse_json(written), value) << at;
    }
  }
}

TEST(JsonDump, InvalidUtf8IsReplacedAsNlohmannDoes) {
  for (const std::string bad : {"\xc3", "a\xffz", "\xc0\x80", "\xed\xa0\x80", "\xf0\x9f\x99", "ok \xe2\x82 then"}) {
    const nlohmann::json value = {{"body", bad}, {bad, 1}};
    EXPECT_EQ(dump_json(value), reference(value)) << bad;
  }
}

// Random strings from bytes that matter to the escaper (controls, quotes, backslash, ASCII, UTF-8 lead and
// continuation bytes, bytes never valid) in random nesting.
TEST(JsonDump, RandomValuesMatchTheReference) {
  std::mt19937 random(11);
  const std::string alphabet =
      std::string("\x00\x01\x1f\"\\/ aZ~\x7f", 11) + "é漢🙂" + "\x80\xbf\xc2\xe0\xed\xf0\xf4\xf8\xff";
  auto random_string = [&] {
    std::string s;
    const int length = static_cast<int>(random() % 40);
    for (int i = 0; i < length; ++i) s += alphabet[random() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 3000; ++round) {
    nlohmann::json value = nlohmann::json::object();
    for (int k = 0; k < 4; ++k) {
      switch (random() % 4) {
        case 0:
          value[random_string()] = random_string();
          break;
        case 1:
          value[random_string()] = {random_string(), static_cast<double>(random()) / 7.0, {{random_string(), nullptr}}};
          break;
        case 2:
          value[random_string()] = static_cast<std::int64_t>(random()) - (1LL << 31);
          break;
        default:
          value[random_string()] = {{"inner", random_string()}};
      }
    }
    ASSERT_EQ(dump_json(value), reference(value)) << round;
  }
}

TEST(JsonDump, SampleDispatchesMatchTheReference) {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(VNAWIRE_SOURCE_DIR "/examples/samples")) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const nlohmann::json record = {{"id", entry.path().filename().string()}, {"body", text.str()}};
    EXPECT_EQ(dump_json(record), reference(record)) << entry.path();
    ++seen;
  }
  EXPECT_GT(seen, 10);
}

}  // namespace
}  // namespace vnawire::runtime
