// A second opinion for short Latin-script text: naive Bayes over character 1-4 grams, trained on the
// project's own texts in stages/langid/corpus/ (a few paragraphs per language, embedded at build time).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vnawire::langid {

struct NgramGuess {
  std::string code;  // "" when the text has no Latin letters
};

// The most likely of the corpus languages (en fr es de pt it id) for `text`. Trained once, on first use.
NgramGuess ngram_language(std::string_view text);

// The languages the model knows, for docs and tests.
std::vector<std::string> ngram_languages();

}  // namespace vnawire::langid
