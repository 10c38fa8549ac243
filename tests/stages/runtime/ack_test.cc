// Acknowledgement tokens, the version 2 header that carries them, and the daemon's XOR table.
#include "stages/runtime/ack.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "stages/runtime/codec.h"

namespace vnawire::runtime {
namespace {

using Clock = Acker::Clock;

TEST(AckToken, RoundTripsAndRefusesMalformedTokens) {
  const AckToken token{"fetch#3", 0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  const std::string text = format_ack(token);
  EXPECT_EQ(text, "fetch#3/0123456789abcdef/fedcba9876543210");
  const auto parsed = parse_ack(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->origin, "fetch#3");
  EXPECT_EQ(parsed->root, token.root);
  EXPECT_EQ(parsed->edge, token.edge);
  for (const char* bad : {"", "fetch#0", "fetch#0/0123456789abcdef", "/0123456789abcdef/0000000000000001",
                          "fetch#0/0000000000000000/0000000000000001", "fetch#0/0123456789abcdeg/0000000000000001",
                          "fetch#0/0123456789abcdef/000000000000001", "a/b/0123456789abcdef/0000000000000001",
                          "fe tch/0123456789abcdef/0000000000000001"}) {
    EXPECT_FALSE(parse_ack(bad)) << bad;
  }
}

TEST(AckToken, RandomTokensAreNeverZeroAndDiffer) {
  std::vector<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.push_back(random_token());
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 0u), 0);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
}

TEST(Codec, ATrackedDocumentIsWrittenAsVersionTwoAndAnUntrackedOneAsVersionOne) {
  Document document{Header{"doc one", 2, "t-1", ""}, {{"id", "doc one"}}};
  EXPECT_EQ(encode(document).header, "VNAW 1 2 t-1 doc one");
  document.header.ack = "fetch#0/00000000000000aa/00000000000000bb";
  const Frames frames = encode(document);
  EXPECT_EQ(frames.header, "VNAW 2 2 t-1 fetch#0/00000000000000aa/00000000000000bb doc one");
  auto decoded = decode(frames.header, frames.payload);
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->header.ack, document.header.ack);
  EXPECT_EQ(decoded->header.id, "doc one");
  EXPECT_EQ(decoded->header.attempt, 2u);
  EXPECT_EQ(decoded->header.trace, "t-1");
}

TEST(Codec, AVersionTwoHeaderWithABadTokenOrTooFewFieldsIsRefused) {
  const std::string payload = R"({"id":"a"})";
  EXPECT_EQ(decode("VNAW 2 0 - nonsense a", payload).error(), "header ack is not <origin>/<root>/<edge>");
  EXPECT_NE(decode("VNAW 2 0 - fetch#0/00000000000000aa/00000000000000bb", payload).error().find("fewer than 6"),
            std::string::npos);
  EXPECT_NE(decode("VNAW 3 0 - a", payload).error().find("unsupported protocol version 3"), std::string::npos);
}

TEST(AckBatch, ReportsForOneRootAreMergedByXor) {
  AckBatch batch;
  batch.add("fetch#0", 7, 0b1100);
  batch.add("fetch#0", 7, 0b1010);
  batch.add("fetch#1", 7, 1);
  EXPECT_EQ(batch.size(), 2u);
  const nlohmann::json body = batch.take();
  EXPECT_TRUE(batch.empty());
  ASSERT_EQ(body["acks"].size(), 2u);
  EXPECT_EQ(body["acks"][0], nlohmann::json::array({"fetch#0", "0000000000000007", "0000000000000006"}));
  EXPECT_EQ(body["acks"][1], nlohmann::json::array({"fetch#1", "0000000000000007", "0000000000000001"}));
}

// A source sends to two stages; one forwards to a sink, the other drops it.
struct Tree {
  std::uint64_t to_a = random_token(), to_b = random_token(), a_to_sink = random_token();
  std::vector<std::uint64_t> reports() const {
    return {to_a ^ to_b, to_a ^ a_to_sink, a_to_sink, to_b};  // source, a, sink, b (a drop)
  }
};

TEST(Acker, ATreeIsCompleteWithItsLastReportWhateverTheOrder) {
  const Tree tree;
  std::vector<int> order = {0, 1, 2, 3};
  int orders = 0;
  do {
    Acker acker;
    const auto now = Clock::now();
    for (std::size_t i = 0; i < order.size(); ++i) {
      const bool complete = acker.apply("fetch#0", 42, tree.reports()[static_cast<std::size_t>(order[i])], now);
      EXPECT_EQ(complete, i + 1 == order.size()) << "report " << i << " of order " << orders;
    }
    EXPECT_EQ(acker.size(), 0u);
    EXPECT_EQ(acker.completed(), 1u);
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(orders, 24);
}

TEST(Acker, AReportLostWithAKilledProcessKeepsTheRootOpenUntilItExpires) {
  const Tree tree;
  Acker acker;
  const auto start = Clock::now();
  for (int skipped = 0; skipped < 4; ++skipped) {
    for (int i = 0; i < 4; ++i) {
      if (i == skipped) continue;
      EXPECT_FALSE(acker.apply("fetch#0", 100 + skipped, tree.reports()[static_cast<std::size_t>(i)], start));
    }
  }
  EXPECT_EQ(acker.size(), 4u);
  EXPECT_EQ(acker.expire(start), 0u);
  EXPECT_EQ(acker.expire(start + std::chrono::seconds(1)), 4u);
  EXPECT_EQ(acker.completed(), 0u);
}

TEST(Acker, RootsOfTwoSourcesAreKeptApartAndAFullTableTracksNoMore) {
  Acker acker(2);
  const auto now = Clock::now();
  EXPECT_FALSE(acker.apply("fetch#0", 1, 5, now));
  EXPECT_FALSE(acker.apply("fetch#1", 1, 6, now));
  EXPECT_FALSE(acker.apply("fetch#2", 1, 7, now));  // not tracked: its source sends it again
  EXPECT_EQ(acker.evicted(), 1u);
  EXPECT_TRUE(acker.apply("fetch#1", 1, 6, now));
  EXPECT_TRUE(acker.apply("fetch#0", 1, 5, now));
}

TEST(Acker, AMessageIsAppliedEntryByEntryAndAMalformedOneIsRefused) {
  Acker acker;
  std::vector<std::string> done;
  auto record = [&](const std::string& origin, std::uint64_t root) { done.push_back(origin + " " + token_hex(root)); };
  const auto now = Clock::now();
  const nlohmann::json first = {{"acks", {{"fetch#0", "0000000000000009", "00000000000000f0"}}}};
  const nlohmann::json second = {{"acks", {{"fetch#0", "0000000000000009", "00000000000000f0"}}}};
  EXPECT_EQ(acker.apply_message(first, now, record), 1);
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(acker.apply_message(second, now, record), 1);
  EXPECT_EQ(done, std::vector<std::string>{"fetch#0 0000000000000009"});
  EXPECT_EQ(acker.apply_message(nlohmann::json{{"acks", {{"fetch#0", "xyz", "1"}}}}, now, record), -1);
  EXPECT_EQ(acker.apply_message(nlohmann::json{{"other", 1}}, now, record), -1);
}

}  // namespace
}  // namespace vnawire::runtime
