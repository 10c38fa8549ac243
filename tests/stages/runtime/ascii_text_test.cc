// The byte predicates of ascii_text.h against their plain definitions, on every byte.
#include "stages/runtime/ascii_text.h"

#include <gtest/gtest.h>

namespace vnawire::runtime {
namespace {

TEST(AsciiText, AlphaAndAlnumAreExactlyTheAsciiLettersAndDigits) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool letter = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
    EXPECT_EQ(ascii_alpha(c), letter) << b;
    EXPECT_EQ(ascii_alnum(c), letter || (b >= '0' && b <= '9')) << b;
  }
}

}  // namespace
}  // namespace vnawire::runtime
