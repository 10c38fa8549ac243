// Codec: round trips, and every kind of bad frame turned into an error, never a crash.
#include "stages/runtime/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "stages/runtime/json_dump.h"

namespace vnawire::runtime {
namespace {

Document sample() {
  Document d;
  d.header = Header{"f-0123456789abcdef", 3, "abc-1"};
  d.record = {{"id", "f-0123456789abcdef"}, {"body", "Hà Nội (VNA) – texte é « guillemets »"}, {"n", 42}};
  return d;
}

TEST(Codec, RoundTripKeepsHeaderAndRecord) {
  const Document original = sample();
  const Frames frames = encode(original);
  EXPECT_EQ(frames.header, "VNAW 1 3 abc-1 f-0123456789abcdef");
  auto decoded = decode(frames.header, frames.payload);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(decoded->header.id, original.header.id);
  EXPECT_EQ(decoded->header.attempt, 3u);
  EXPECT_EQ(decoded->header.trace, "abc-1");
  EXPECT_EQ(decoded->record, original.record);
}

TEST(Codec, IdMayHoldSpacesAndEmptyTraceRoundTrips) {
  Document d;
  d.header = Header{"file name with spaces.txt", 0, ""};
  d.record = {{"id", d.header.id}};
  const Frames frames = encode(d);
  auto decoded = decode(frames.header, frames.payload);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(decoded->header.id, "file name with spaces.txt");
  EXPECT_EQ(decoded->header.trace, "");
}

TEST(Codec, MissingPayloadIdIsFilledFromHeader) {
  auto decoded = decode("VNAW 1 0 - abc", R"({"body":"x"})");
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(decoded->record["id"], "abc");
}

// A stage that only adds members (StageDescriptor::adds_members) sends what it received with them written
// in: the same record as writing it whole, and the received text unchanged before them.
TEST(Codec, AStageThatAddsMembersSendsWhatItReceivedWithThem) {
  const std::vector<std::string> adds = {"lang"};
  const std::string payload = R"({"id":"a","body":"Texte \"cité\" é","n":[1,2.5,{"k":null}]} )";
  auto decoded = decode("VNAW 1 0 - a", payload, KeepPayload{true, &adds});
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(decoded->received, payload);
  decoded->record["lang"] = {{"code", "fr"}, {"confidence", 0.97}};
  const Frames frames = encode(*decoded, adds);
  // Before the first member whose key sorts after it, as the record orders its members.
  EXPECT_EQ(frames.payload,
            R"({"id":"a","body":"Texte \"cité\" é","lang":{"code":"fr","confidence":0.97},"n":[1,2.5,{"k":null}]})");
  auto again = decode(frames.header, frames.payload);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->record, decoded->record);
  // Without the list, or without a kept payload, the record is written whole.
  EXPECT_EQ(encode(*decoded).payload, dump_json(decoded->record));
  decoded->received.clear();
  EXPECT_EQ(encode(*decoded, adds).payload, dump_json(decoded->record));
  // A member the record lacks is left out; an object with no member gets no comma.
  EXPECT_EQ(splice_members(R"({"id":"a"})", nlohmann::json{{"id", "a"}}, adds), R"({"id":"a"})");
  EXPECT_EQ(splice_members("{ }", nlohmann::json{{"lang", 1}}, adds), R"({"lang":1})");
  // A key written with an escape cannot be compared as written: the new member goes last.
  EXPECT_EQ(splice_members(R"({"\u006e":1,"id":"a"})", nlohmann::json{{"n", 1}, {"id", "a"}, {"lang", 2}}, adds),
            R"({"\u006e":1,"id":"a","lang":2})");
}

// What a stage wrote whole (keys in order, compact) comes out of the splice exactly as the record written
// whole: a sink storing it and comparing texts for new versions sees no difference between the two paths.
TEST(Codec, ASpliceIntoARecordWrittenWholeIsThatRecordWrittenWhole) {
  std::mt19937 random(11);
  const std::vector<std::string> keys = {"article",    "body", "content_type", "dedupe", "entities", "fetch",
                                         "fetched_at", "id",   "lang",         "source", "url",      "zz"};
  for (int round = 0; round < 300; ++round) {
    nlohmann::json record = {{"id", "x"}};
    for (const std::string& key : keys) {
      if (random() % 2 == 0) continue;
      switch (random() % 4) {
        case 0:
          record[key] = "texte, avec \"guillemets\" } ] et \\ { [ " + std::to_string(random() % 100);
          break;
        case 1:
          record[key] = {{"a", {1, 2, {{"b", "}"}}}}, {"c", nullptr}};
          break;
        case 2:
          record[key] = nlohmann::json::array({"[", "]", 3.5, true});
          break;
        default:
          record[key] = -static_cast<int>(random() % 1000);
          break;
      }
    }
    std::vector<std::string> added;
    for (const char* key : {"dedupe", "lang", "zz", "article"}) {
      if (record.contains(key) && random() % 2 == 0) added.push_back(key);
    }
    nlohmann::json without = record;
    for (const std::string& key : added) without.erase(key);
    EXPECT_EQ(splice_members(dump_json(without), record, added), dump_json(record)) << dump_json(record);
  }
}

// The payload is kept only when it is the record exactly, on one line, and lacks what the stage adds.
TEST(Codec, APayloadIsKeptOnlyWhenItIsTheRecordExactly) {
  const std::vector<std::string> adds = {"lang"};
  const KeepPayload keep{true, &adds};
  auto kept = [&](const std::string& payload) {
    auto decoded = decode("VNAW 1 0 - a", payload, keep);
    EXPECT_TRUE(decoded.ok()) << payload;
    return decoded.ok() && !decoded->received.empty();
  };
  EXPECT_TRUE(kept(R"({"id":"a","x":"\u00e9"})"));
  EXPECT_FALSE(kept(R"({"body":"no id"})"));                 // the record gets an "id" the text lacks
  EXPECT_FALSE(kept(R"({"id":"a","x":1,"x":2})"));           // a repeated key: the text holds more
  EXPECT_FALSE(kept(R"({"id":"a","o":{"k":1,"k":2}})"));     // at any depth
  EXPECT_FALSE(kept(R"({"id":"a","lang":{"code":"en"}})"));  // the stage would write "lang" twice
  EXPECT_FALSE(kept("{\"id\":\"a\",\n\"x\":1}"));            // not one line
  EXPECT_FALSE(kept("\xEF\xBB\xBF{\"id\":\"a\"}"));          // read by nlohmann's parser (a byte-order mark)
  // Not asked for: nothing kept.
  auto plain = decode("VNAW 1 0 - a", R"({"id":"a"})");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->received.empty());
  Document document;
  document.record = {{"id", "a"}};
  EXPECT_EQ(record_text(document), R"({"id":"a"})");
  document.received = R"({ "id" : "a" })";
  EXPECT_EQ(record_text(document), R"({ "id" : "a" })");
}

TEST(Codec, RejectsBadHeaders) {
  const char* payload = R"({"id":"a"})";
  EXPECT_NE(decode("XXXX 1 0 - a", payload).error().find("tag"), std::string::npos);
  EXPECT_NE(decode("VNAW 3 0 - a", payload).error().find("unsupported protocol version 3"), std::string::npos);
  EXPECT_FALSE(decode("VNAW x 0 - a", payload).ok());
  EXPECT_FALSE(decode("VNAW 1 -4 - a", payload).ok());
  EXPECT_FALSE(decode("VNAW 1 0 -", payload).ok());
  EXPECT_FALSE(decode("VNAW 1 0 - ", payload).ok());
  EXPECT_FALSE(decode("", payload).ok());
  EXPECT_FALSE(decode(std::string(5000, 'V'), payload).ok());
  EXPECT_FALSE(decode(std::string("VNAW 1 0 - a\x01", 14), payload).ok());
  EXPECT_FALSE(decode("VNAW 1 0 - \xff\xfe", payload).ok());
}

TEST(Codec, RejectsBadPayloads) {
  EXPECT_EQ(decode("VNAW 1 0 - a", "{not json").error(), "payload is not valid JSON");
  EXPECT_EQ(decode("VNAW 1 0 - a", "[1,2]").error(), "payload is not a JSON object");
  EXPECT_EQ(decode("VNAW 1 0 - a", R"({"id":"b"})").error(), "payload id does not match the header id");
  EXPECT_EQ(decode("VNAW 1 0 - a", R"({"id":7})").error(), "payload id does not match the header id");
  EXPECT_FALSE(decode("VNAW 1 0 - a", "").ok());
}

TEST(Codec, RandomBytesNeverCrash) {
  std::mt19937 random(7);
  const Frames good = encode(sample());
  for (int i = 0; i < 20000; ++i) {
    std::string header = good.header, payload = good.payload;
    std::string& target = (i % 2) ? header : payload;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits && !target.empty(); ++e) {
      target[random() % target.size()] = static_cast<char>(random() % 256);
    }
    if (i % 7 == 0) target.resize(random() % (target.size() + 1));
    auto decoded = decode(header, payload);
    if (decoded.ok()) {
      EXPECT_EQ(decoded->record["id"], decoded->header.id);
    }
  }
}

// A batch gives back each document's frames as they went in, payloads with spaces and newlines included.
TEST(CodecBatch, RoundTripKeepsEveryDocumentInOrder) {
  std::string body;
  std::vector<Frames> sent;
  for (int i = 0; i < 3; ++i) {
    Document document = sample();
    document.header.id = "doc " + std::to_string(i);
    document.record["id"] = document.header.id;
    document.record["body"] = std::string(static_cast<std::size_t>(i) * 700, '\n') + "12 34\n";
    sent.push_back(encode(document));
    append_to_batch(body, sent.back().header, sent.back().payload);
  }
  const std::string header = encode_batch_header(3);
  EXPECT_EQ(header, "VNAB 1 3");
  EXPECT_TRUE(is_batch_header(header));
  EXPECT_FALSE(is_batch_header(sent[0].header));
  const Batch batch = decode_batch(header, body);
  EXPECT_EQ(batch.error, "");
  ASSERT_EQ(batch.entries.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(batch.entries[i].header, sent[i].header);
    EXPECT_EQ(batch.entries[i].payload, sent[i].payload);
    ASSERT_TRUE(decode(batch.entries[i].header, batch.entries[i].payload).ok());
  }
}

// What cannot be read ends the batch with a reason; the documents before it are kept.
TEST(CodecBatch, AMalformedBatchKeepsWhatCameBeforeTheFault) {
  std::string two, second;
  append_to_batch(two, "VNAW 1 0 - a", R"({"id":"a"})");
  append_to_batch(second, "VNAW 1 0 - b", R"({"id":"b"})");
  two += second;
  for (const char* header : {"VNAB 1 0", "VNAB 1 01", "VNAB 2 2", "VNAB 1 x", "VNAB 1 1025", "VNAB 1 2 ", "VNAB 1"}) {
    const Batch batch = decode_batch(header, two);
    EXPECT_TRUE(batch.entries.empty()) << header;
    EXPECT_NE(batch.error.find("malformed batch header"), std::string::npos) << header;
  }
  Batch batch = decode_batch("VNAB 1 3", two);  // one document fewer than it says
  ASSERT_EQ(batch.entries.size(), 2u);
  EXPECT_EQ(batch.error, "malformed batch: document 3 of 3 has no valid \"<header bytes> <payload bytes>\" line");
  batch = decode_batch("VNAB 1 1", two);  // one more than it says
  ASSERT_EQ(batch.entries.size(), 1u);
  EXPECT_EQ(batch.error, "malformed batch: 28 bytes after its 1 documents");
  EXPECT_EQ(batch.rest, second);
  // A length past the end, a length with a sign, no line: the entry and the rest are refused.
  for (const std::string& body : {std::string("12 99\nVNAW 1 0 - a{}"), std::string("12 -1\nVNAW 1 0 - a"),
                                  std::string("12 2 VNAW 1 0 - a{}"), std::string("")}) {
    batch = decode_batch("VNAB 1 1", body);
    EXPECT_TRUE(batch.entries.empty()) << body;
    EXPECT_EQ(batch.rest, body);
    EXPECT_FALSE(batch.error.empty());
  }
}

TEST(CodecBatch, RandomBytesNeverCrash) {
  std::mt19937 random(11);
  std::string good;
  for (int i = 0; i < 4; ++i) {
    const Frames frames = encode(sample());
    append_to_batch(good, frames.header, frames.payload);
  }
  for (int i = 0; i < 20000; ++i) {
    std::string body = good;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) body[random() % body.size()] = static_cast<char>(random() % 256);
    if (i % 5 == 0) body.resize(random() % (body.size() + 1));
    const Batch batch = decode_batch("VNAB 1 4", body);
    std::size_t seen = 0;
    for (const BatchEntry& entry : batch.entries) seen += entry.header.size() + entry.payload.size();
    EXPECT_LE(seen, body.size());
    EXPECT_EQ(batch.entries.size() == 4 && batch.rest.empty(), batch.error.empty());
  }
}

// The ASCII fast path reads sixteen bytes at a time (then eight, then one): a sequence at any offset from
// it must be judged alike.
TEST(Codec, Utf8ValidationAtEveryOffset) {
  for (std::size_t at = 0; at < 40; ++at) {
    for (std::size_t tail = 0; tail < 20; ++tail) {
      const std::string before(at, 'a'), after(tail, 'z');
      EXPECT_TRUE(is_valid_utf8(before + "\xc3\xa9" + after)) << at << " " << tail;
      EXPECT_TRUE(is_valid_utf8(before + "\xf0\x9f\x99\x82" + after)) << at << " " << tail;
      EXPECT_FALSE(is_valid_utf8(before + "\xc3" + after)) << at << " " << tail;
      EXPECT_FALSE(is_valid_utf8(before + "\xc1\xbf" + after)) << at << " " << tail;
      EXPECT_FALSE(is_valid_utf8(before + "\xed\xa0\x80" + after)) << at << " " << tail;
      EXPECT_FALSE(is_valid_utf8(before + "\xff" + after)) << at << " " << tail;
    }
  }
}

// Every sequence of one to three bytes, and the four-byte ones around the limits, against a reference
// written from RFC 3629's table, so that the fast paths (ASCII blocks, two-byte letters) change no verdict.
TEST(Codec, Utf8ValidationAgreesWithTheRfcTableOnEveryShortSequence) {
  auto reference = [](const std::string& text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    auto in = [](unsigned char c, int lo, int hi) { return c >= lo && c <= hi; };
    for (std::size_t i = 0; i < n;) {
      const unsigned char c = s[i];
      std::size_t len = 0;
      bool ok = false;
      if (c <= 0x7F) {
        len = 1, ok = true;
      } else if (in(c, 0xC2, 0xDF)) {
        len = 2, ok = i + 1 < n && in(s[i + 1], 0x80, 0xBF);
      } else if (c == 0xE0) {
        len = 3, ok = i + 2 < n && in(s[i + 1], 0xA0, 0xBF) && in(s[i + 2], 0x80, 0xBF);
      } else if (in(c, 0xE1, 0xEC) || in(c, 0xEE, 0xEF)) {
        len = 3, ok = i + 2 < n && in(s[i + 1], 0x80, 0xBF) && in(s[i + 2], 0x80, 0xBF);
      } else if (c == 0xED) {
        len = 3, ok = i + 2 < n && in(s[i + 1], 0x80, 0x9F) && in(s[i + 2], 0x80, 0xBF);
      } else if (c == 0xF0) {
        len = 4, ok = i + 3 < n && in(s[i + 1], 0x90, 0xBF) && in(s[i + 2], 0x80, 0xBF) && in(s[i + 3], 0x80, 0xBF);
      } else if (in(c, 0xF1, 0xF3)) {
        len = 4, ok = i + 3 < n && in(s[i + 1], 0x80, 0xBF) && in(s[i + 2], 0x80, 0xBF) && in(s[i + 3], 0x80, 0xBF);
      } else if (c == 0xF4) {
        len = 4, ok = i + 3 < n && in(s[i + 1], 0x80, 0x8F) && in(s[i + 2], 0x80, 0xBF) && in(s[i + 3], 0x80, 0xBF);
      }
      if (!ok) return false;
      i += len;
    }
    return true;
  };
  const std::string pad(17, 'p');  // puts the sequence just past the first sixteen-byte block
  std::size_t checked = 0;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string two{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(is_valid_utf8(two), reference(two)) << std::hex << a << " " << b;
      ASSERT_EQ(is_valid_utf8(pad + two + pad), reference(two)) << std::hex << a << " " << b;
      if (a < 0xE0 || a > 0xF4) continue;
      for (int c = 0x70; c < 0xC8; ++c) {
        const std::string three = two + static_cast<char>(c);
        ASSERT_EQ(is_valid_utf8(pad + three), reference(three)) << std::hex << a << " " << b << " " << c;
        ++checked;
        if (a >= 0xF0) {
          for (const int d : {0x7F, 0x80, 0xBF, 0xC0}) {
            const std::string four = three + static_cast<char>(d);
            ASSERT_EQ(is_valid_utf8(four + pad), reference(four)) << std::hex << a << " " << b << " " << c << " " << d;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 100000u);
}

TEST(Codec, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("Tô Lâm, 越南, Москва"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(is_valid_utf8("abc\xe2\x82"));       // truncated
}

}  // namespace
}  // namespace vnawire::runtime
