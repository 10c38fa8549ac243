// The n-gram model's reading of text: how it decodes and lowercases before counting n-grams.
#include "stages/langid/langid_ngram.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace vnawire::langid {
namespace {

TEST(LangidNgram, CapitalsBeyondLatin1ReadAsTheirLowerCase) {
  // Đ and Ư have lower cases outside Latin-1; a headline in capitals must read as the same word.
  const std::pair<const char*, const char*> words[] = {{"MƯA", "mưa"}, {"ĐANG", "đang"}, {"ĐƯA", "đưa"}};
  for (const auto& [capitals, lower] : words) {
    EXPECT_EQ(ngram_language(lower).code, "vi") << lower;
    EXPECT_EQ(ngram_language(capitals).code, "vi") << capitals;
  }
}

TEST(LangidNgram, AStrayByteSeparatesWordsWithoutEatingLetters) {
  // A lead byte without its continuation bytes (a Latin-1 "é" in UTF-8 text) is no character: the
  // letters after it stay letters, as if the byte were a space.
  for (const std::string word : {"the", "und", "che", "des"}) {
    EXPECT_EQ(ngram_language("\xE9" + word).code, ngram_language(" " + word).code) << word;
    EXPECT_EQ(ngram_language("\xC3" + word).code, ngram_language(" " + word).code) << word;
  }
}

}  // namespace
}  // namespace vnawire::langid
