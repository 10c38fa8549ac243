// The visible-text scanner: what langid and dedupe read of a page.
#include "stages/runtime/markup.h"

#include <gtest/gtest.h>

namespace vnawire::runtime {
namespace {

TEST(VisibleText, ScriptsStylesAndCommentsAreHiddenInAnyCase) {
  const std::string text = visible_text(
      "<P>alpha<SCRIPT type=x>bad1</SCRIPT>beta<Script>bad2</sCrIpT>gamma<STYLE>bad3</Style>"
      "delta<!-- bad4 -->epsilon<style media=all>bad5</STYLE ></P>zeta");
  for (const char* hidden : {"bad1", "bad2", "bad3", "bad4", "bad5"}) {
    EXPECT_EQ(text.find(hidden), std::string::npos) << hidden << " leaked into: " << text;
  }
  for (const char* seen : {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}) {
    EXPECT_NE(text.find(seen), std::string::npos) << seen;
  }
}

TEST(VisibleText, BlockTagsEndLinesAndOtherTagsSeparateWords) {
  EXPECT_EQ(visible_text("<div>one<b>two</b></div><BR/>three<span>four</span><Li>five"),
            "\none two \n\nthree four \nfive");
}

TEST(VisibleText, TagsThatOnlyStartLikeScriptAreOrdinary) {
  // <scripture> and <styles> are not script or style: their text stays.
  EXPECT_EQ(visible_text("<scripture>kept</scripture><styles>too</styles>"), " kept  too ");
}

TEST(VisibleText, UnclosedScriptOrCommentHidesTheRestAndNeverFails) {
  EXPECT_EQ(visible_text("shown<script>var x = 1;"), "shown ");
  EXPECT_EQ(visible_text("shown<!-- never closed"), "shown ");
  EXPECT_EQ(visible_text("shown<p"), "shown\n");
  EXPECT_EQ(visible_text(""), "");
}

}  // namespace
}  // namespace vnawire::runtime
