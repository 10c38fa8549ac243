// Fetch: WARC files plain and gzip (per record and whole file), HTTP payloads, skipping, truncation and resync.
#include "stages/fetch/fetch_warc.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>

namespace vnawire::fetch {
namespace {

// `window_bits` as zlib takes it: 31 for gzip, 15 for zlib, -15 for raw deflate.
std::string compress(std::string_view data, int window_bits) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, data.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string http(std::string_view status_line, std::string_view headers, std::string_view body) {
  return std::string(status_line) + "\r\n" + std::string(headers) + "\r\n" + std::string(body);
}

std::string record(std::string_view type, std::string_view uri, std::string_view block, int id,
                   std::string_view version = "WARC/1.1") {
  std::string out = std::string(version) + "\r\nWARC-Type: " + std::string(type) + "\r\n";
  if (!uri.empty()) out += "WARC-Target-URI: " + std::string(uri) + "\r\n";
  out += "WARC-Date: 2025-06-10T02:30:0" + std::to_string(id % 10) + "Z\r\n";
  out +=
      "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-" + std::string(11, '0') + std::to_string(id % 10) + ">\r\n";
  out += "Content-Type: application/http; msgtype=" + std::string(type) + "\r\n";
  out += "Content-Length: " + std::to_string(block.size()) + "\r\n\r\n" + std::string(block) + "\r\n\r\n";
  return out;
}

const std::string kArticle = "<html><body><h1>Hà Nội</h1><p>Tin mới.</p></body></html>";

// A small crawl: warcinfo, then request/response pairs, a metadata record and a dns: response.
std::vector<std::string> crawl() {
  return {
      record("warcinfo", "", "software: vnawire-test\r\nformat: WARC File Format 1.1\r\n", 1),
      record("request", "https://vnanet.vn/vi/tin/1.html", "GET /vi/tin/1.html HTTP/1.1\r\nHost: vnanet.vn\r\n\r\n", 2),
      record("response", "https://vnanet.vn/vi/tin/1.html",
             http("HTTP/1.1 200 OK", "Content-Type: text/html; charset=utf-8\r\n", kArticle), 3, "WARC/1.0"),
      record("metadata", "https://vnanet.vn/vi/tin/1.html", "outlinks: https://vnanet.vn/\r\n", 4),
      record("response", "dns:vnanet.vn", "20250610023000\nvnanet.vn.\t300\tIN\tA\t203.0.113.7\n", 5),
      record("response", "<https://vnanet.vn/missing>",
             http("HTTP/1.0 404 Not Found", "Content-Type: text/plain\r\n", "gone"), 6),
  };
}

std::string join(const std::vector<std::string>& parts, int window_bits = 0) {
  std::string out;
  for (const auto& part : parts) out += window_bits == 0 ? part : compress(part, window_bits);
  return out;
}

class FetchWarc : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() / ("vnawire-warc-" + std::to_string(::getpid()) + "-" + test->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path write(const std::string& name, const std::string& bytes) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // Every response, and every error as "error: …", until the end.
  static std::vector<std::string> read_all(WarcReader& reader, std::vector<WarcResponse>* responses = nullptr) {
    std::vector<std::string> events;
    for (int guard = 0; guard < 100; ++guard) {
      WarcResponse response;
      auto next = reader.next(response);
      if (!next.ok()) {
        events.push_back("error: " + next.error());
        continue;
      }
      if (!*next) break;
      events.push_back(std::to_string(response.http_status) + " " + response.target_uri);
      if (responses != nullptr) responses->push_back(response);
    }
    return events;
  }

  void expect_crawl(const std::filesystem::path& path) {
    WarcReader reader;
    ASSERT_TRUE(reader.open(path).ok());
    std::vector<WarcResponse> responses;
    const std::vector<std::string> want = {"200 https://vnanet.vn/vi/tin/1.html", "404 https://vnanet.vn/missing"};
    EXPECT_EQ(read_all(reader, &responses), want) << path;
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_EQ(responses[0].body, kArticle);
    EXPECT_EQ(responses[0].content_type, "text/html; charset=utf-8");
    EXPECT_EQ(responses[0].warc_date, "2025-06-10T02:30:03Z");
    EXPECT_EQ(responses[0].record_id, "<urn:uuid:00000000-0000-0000-0000-000000000003>");
    EXPECT_EQ(responses[1].body, "gone");
    EXPECT_EQ(reader.records_seen(), 6u);
    EXPECT_EQ(reader.records_skipped(), 0u);
  }

  std::filesystem::path dir_;
};

TEST_F(FetchWarc, PlainFileYieldsOnlyHttpResponses) { expect_crawl(write("crawl.warc", join(crawl()))); }

TEST_F(FetchWarc, GzipPerRecordAndWholeFileAreDetectedByMagicBytes) {
  expect_crawl(write("per-record.warc.gz", join(crawl(), 31)));
  expect_crawl(write("whole-file.warc", compress(join(crawl()), 31)));  // no .gz in the name on purpose
}

TEST_F(FetchWarc, ChunkedAndEncodedPayloadsAreUndone) {
  const std::string text = "Thủ tướng tiếp Đại sứ. " + std::string(3000, 'x');
  const std::string gzipped = compress(text, 31);
  std::string chunked;
  for (std::size_t at = 0; at < gzipped.size(); at += 1000) {
    const std::string piece = gzipped.substr(at, 1000);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    chunked += std::string(size) + (at == 0 ? ";ext=1" : "") + "\r\n" + piece + "\r\n";
  }
  chunked += "0\r\nX-Trailer: yes\r\n\r\n";
  const std::string path = join({
      record("response", "https://e.vn/chunked-gzip",
             http("HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n", chunked), 1),
      record("response", "https://e.vn/zlib",
             http("HTTP/1.1 200 OK", "Content-Encoding: deflate\r\n", compress(text, 15)), 2),
      record("response", "https://e.vn/raw",
             http("HTTP/1.1 200 OK", "content-encoding: Deflate\r\n", compress(text, -15)), 3),
      record("response", "https://e.vn/stored-inflated", http("HTTP/1.1 200 OK", "Content-Encoding: gzip\r\n", text),
             4),
      record("response", "https://e.vn/stored-dechunked",
             http("HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", text), 5),
      record("response", "https://e.vn/lf-only", "HTTP/1.1 301 Moved\nLocation: /x\nContent-Type: text/plain\n\nmoved",
             6),
  });
  WarcReader reader;
  ASSERT_TRUE(reader.open(write("payloads.warc", path)).ok());
  std::vector<WarcResponse> responses;
  read_all(reader, &responses);
  ASSERT_EQ(responses.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(responses[i].body, text) << responses[i].target_uri;
  EXPECT_EQ(responses[5].http_status, 301);
  EXPECT_EQ(responses[5].content_type, "text/plain");
  EXPECT_EQ(responses[5].body, "moved");
}

TEST_F(FetchWarc, LargeRecordsAreSkippedAndCounted) {
  std::string under(900 << 10, 'u');  // read across many 64 KiB buffer refills
  for (std::size_t i = 0; i < under.size(); i += 997) under[i] = static_cast<char>('a' + i % 26);
  const std::string over(2 << 20, 'z');
  const std::vector<std::string> records = {
      record("response", "https://e.vn/over", http("HTTP/1.1 200 OK", "", over), 1),
      record("response", "https://e.vn/under", http("HTTP/1.1 200 OK", "", under), 2),
      record("response", "https://e.vn/small", http("HTTP/1.1 200 OK", "", "ok"), 3)};
  for (const int window_bits : {0, 31}) {
    WarcReader reader;
    ASSERT_TRUE(reader.open(write("large.warc", join(records, window_bits)), 1 << 20).ok());
    std::vector<WarcResponse> responses;
    const std::vector<std::string> want = {"200 https://e.vn/under", "200 https://e.vn/small"};
    EXPECT_EQ(read_all(reader, &responses), want);
    ASSERT_EQ(responses.size(), 2u);
    EXPECT_TRUE(responses[0].body == under);
    EXPECT_EQ(reader.records_seen(), 3u);
    EXPECT_EQ(reader.records_skipped(), 1u);
  }
}

TEST_F(FetchWarc, TruncatedFilesAreAnErrorThenTheEnd) {
  const std::string whole = join(crawl());
  const std::string cut = whole.substr(0, whole.size() - 10);  // inside the last record's block
  const std::size_t last_offset = whole.rfind("WARC/1.1");
  WarcReader plain;
  ASSERT_TRUE(plain.open(write("cut.warc", cut)).ok());
  const std::vector<std::string> want = {
      "200 https://vnanet.vn/vi/tin/1.html",
      "error: WARC record at offset " + std::to_string(last_offset) + ": truncated record"};
  EXPECT_EQ(read_all(plain), want);
  EXPECT_EQ(plain.records_skipped(), 1u);

  const std::string gzipped = compress(whole, 31);
  WarcReader gz;
  ASSERT_TRUE(gz.open(write("cut.warc.gz", gzipped.substr(0, gzipped.size() - 20))).ok());
  const auto events = read_all(gz);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "200 https://vnanet.vn/vi/tin/1.html");
  EXPECT_NE(events[1].find("(of the inflated stream): truncated gzip data"), std::string::npos) << events[1];

  WarcReader headers_cut;
  ASSERT_TRUE(headers_cut.open(write("header-cut.warc", "WARC/1.0\r\nWARC-Type: response\r\nContent-Le")).ok());
  EXPECT_EQ(read_all(headers_cut), std::vector<std::string>{"error: WARC record at offset 0: truncated record"});
}

TEST_F(FetchWarc, MalformedRecordsAreReportedAndReadingResynchronises) {
  const std::string good1 = record("response", "https://e.vn/1", http("HTTP/1.1 200 OK", "", "one"), 1);
  const std::string lying_block = http("HTTP/1.1 200 OK", "", "0123456789");
  std::string lying = record("response", "https://e.vn/lying", lying_block, 2);
  const std::string true_length = "Content-Length: " + std::to_string(lying_block.size());
  lying.replace(lying.find(true_length), true_length.size(), "Content-Length: 20");  // says less than it holds
  const std::string no_length = "WARC/1.1\r\nWARC-Type: response\r\n\r\nHTTP/1.1 200 OK\r\n\r\nbody\r\n\r\n";
  const std::string bad_http = record("response", "https://e.vn/bad-http", "HTTP/1.1 OK\r\n\r\nx", 3);
  const std::string good2 = record("response", "https://e.vn/2", http("HTTP/1.1 200 OK", "", "two"), 4);
  const std::string good3 = record("response", "https://e.vn/3", http("HTTP/1.1 200 OK", "", "three"), 5);
  const std::string data = "garbage before\r\n" + good1 + lying + no_length + bad_http + good2 + "junk\n" + good3;
  WarcReader reader;
  ASSERT_TRUE(reader.open(write("messy.warc", data)).ok());
  const std::size_t lying_at = 16 + good1.size(), no_length_at = lying_at + lying.size();
  const std::size_t bad_http_at = no_length_at + no_length.size();
  const std::vector<std::string> want = {
      "error: WARC record at offset 0: no WARC version line",
      "200 https://e.vn/1",
      "200 https://e.vn/lying",  // its first 20 bytes still make a response; the rest is debris
      "error: WARC record at offset " + std::to_string(lying_at + lying.find("\r\n\r\n") + 4 + 20) +
          ": no WARC version line",
      "error: WARC record at offset " + std::to_string(no_length_at) + ": no valid Content-Length",
      "error: WARC record at offset " + std::to_string(bad_http_at) + ": bad HTTP status line 'HTTP/1.1 OK'",
      "200 https://e.vn/2",
      "error: WARC record at offset " + std::to_string(bad_http_at + bad_http.size() + good2.size()) +
          ": no WARC version line",
      "200 https://e.vn/3"};
  EXPECT_EQ(read_all(reader), want);
  EXPECT_EQ(reader.records_seen(), 6u);
  EXPECT_EQ(reader.records_skipped(), 5u);
}

TEST_F(FetchWarc, CorruptGzipMemberIsSkippedForTheNextOne) {
  std::string noise(300 << 10, '\0');  // incompressible, so the damaged member spans several reads
  std::uint32_t seed = 12345;
  for (char& c : noise) c = static_cast<char>((seed = seed * 1103515245u + 12345u) >> 24);
  for (const std::string& damaged_body : {std::string(500, 'b'), noise}) {
    const auto records =
        std::vector<std::string>{record("response", "https://e.vn/1", http("HTTP/1.1 200 OK", "", "one"), 1),
                                 record("response", "https://e.vn/2", http("HTTP/1.1 200 OK", "", damaged_body), 2),
                                 record("response", "https://e.vn/3", http("HTTP/1.1 200 OK", "", "three"), 3)};
    std::string second = compress(records[1], 31);
    for (std::size_t i = 12; i < second.size() - 8; ++i) second[i] = static_cast<char>(0xFF);  // wreck the data
    WarcReader reader;
    const auto path = write("damaged.warc.gz", compress(records[0], 31) + second + compress(records[2], 31));
    ASSERT_TRUE(reader.open(path).ok());
    const auto events = read_all(reader);
    ASSERT_EQ(events.size(), 3u) << ::testing::PrintToString(events);
    EXPECT_EQ(events[0], "200 https://e.vn/1");
    EXPECT_NE(events[1].find("corrupt gzip data"), std::string::npos) << events[1];
    EXPECT_EQ(events[2], "200 https://e.vn/3");
  }
}

TEST_F(FetchWarc, OpenAndNextFailCleanly) {
  WarcReader reader;
  WarcResponse response;
  EXPECT_FALSE(reader.next(response).ok());
  const auto missing = reader.open(dir_ / "missing.warc");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("cannot open"), std::string::npos);
  ASSERT_TRUE(reader.open(write("empty.warc", "")).ok());
  auto next = reader.next(response);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(*next);
}

}  // namespace
}  // namespace vnawire::fetch
