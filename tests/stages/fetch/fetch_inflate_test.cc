// Fetch inflation of whole bodies: HTTP "deflate" as zlib or raw deflate, bounded like gzip.
#include "stages/fetch/fetch_inflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace vnawire::fetch {
namespace {

// `text` as a zlib stream, or as raw deflate: the same stream without its 2-byte header and 4-byte checksum.
std::string deflated(const std::string& text, bool raw) {
  uLongf size = compressBound(text.size());
  std::string out(size, '\0');
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(text.data()),
                      text.size(), Z_BEST_COMPRESSION),
            Z_OK);
  out.resize(size);
  return raw ? out.substr(2, out.size() - 6) : out;
}

TEST(FetchInflate, DeflateReadsZlibAndRawStreams) {
  const std::string text = "Tin tức " + std::string(1000, 'x');
  EXPECT_EQ(*inflate_deflate(deflated(text, false), 1 << 20), text);
  EXPECT_EQ(*inflate_deflate(deflated(text, true), 1 << 20), text);
}

TEST(FetchInflate, DeflateIsBoundedAndReportsDamage) {
  const std::string raw = deflated(std::string(100000, 'a'), true);
  auto over = inflate_deflate(raw, 1000);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error(), "deflate data inflates beyond 1000 bytes");
  auto truncated = inflate_deflate(std::string_view(raw).substr(0, raw.size() / 2), 1 << 20);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error(), "truncated deflate data");
  EXPECT_FALSE(inflate_deflate("", 100).ok());
}

}  // namespace
}  // namespace vnawire::fetch
