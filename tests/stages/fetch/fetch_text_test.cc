// Fetch text helpers: trimming by white-space set, ASCII case folding and case-insensitive comparison.
#include "stages/fetch/fetch_text.h"

#include <gtest/gtest.h>

namespace vnawire::fetch {
namespace {

TEST(FetchText, TrimTakesTheGivenWhiteSpaceOnly) {
  EXPECT_EQ(trim(" \t\v\f\r\n a b \n"), "a b");
  EXPECT_EQ(trim(" \t \n"), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("\va\v", kHtmlSpace), "\va\v");  // HTML does not count a vertical tab as white space
  EXPECT_EQ(trim("\f a \r", " \t\r\n"), "\f a");
  EXPECT_TRUE(is_space('\v'));
  EXPECT_FALSE(is_space('\v', kHtmlSpace));
  EXPECT_FALSE(is_space('\0'));
}

TEST(FetchText, CaseFoldingIsAsciiOnly) {
  EXPECT_EQ(ascii_lowered("Content-TYPE: Text/HTML"), "content-type: text/html");
  EXPECT_EQ(ascii_lowered("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // UTF-8 bytes are left alone
  EXPECT_TRUE(iequals("ETag", "etag"));
  EXPECT_FALSE(iequals("etag", "etags"));
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));
  EXPECT_TRUE(istarts_with("September", "sep"));
  EXPECT_TRUE(istarts_with("HTTPS://x", "https://"));
  EXPECT_FALSE(istarts_with("se", "sep"));
}

}  // namespace
}  // namespace vnawire::fetch
