// A dispatch's title, lead, body and captions split into annotated words once, for the entity, quote,
// event, topic and country rules that all read them (each used to tokenize and fold the same text again).
#pragma once

#include <cstddef>
#include <vector>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_entity_tokens.h"

namespace vnawire::extract {

// Views into the Article it was made from, which must outlive it.
struct ArticleTokens {
  static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);

  ArticleTokens() = default;
  ArticleTokens(ArticleTokens&&) = default;
  ArticleTokens& operator=(ArticleTokens&&) = default;
  // A copy's words would still view the original's tokens (entities::Word): moved, never copied.
  ArticleTokens(const ArticleTokens&) = delete;
  ArticleTokens& operator=(const ArticleTokens&) = delete;

  // Title, lead, body paragraphs, captions, in that order; a lead that repeats the first paragraph is
  // not a unit of its own (`lead` then names the first paragraph's unit).
  std::vector<entities::Unit> units;
  std::size_t title = kAbsent, lead = kAbsent;  // indices in `units`
  std::size_t body = 0;                         // the body's paragraphs are units [body, captions)
  std::size_t captions = 0;                     // the captions are units [captions, units.size())
};

ArticleTokens tokenize_article(const Article& article);

}  // namespace vnawire::extract
