// Tokenizes and annotates a dispatch's units once (extract_article_tokens.h).
#include "stages/extract/extract_article_tokens.h"

#include "stages/extract/extract_gazetteer.h"

namespace vnawire::extract {

ArticleTokens tokenize_article(const Article& article) {
  const Gazetteer& g = default_gazetteer();
  ArticleTokens out;
  out.units.reserve(2 + article.body.size() + article.captions.size());
  auto add = [&out, &g](const std::string& text) {
    entities::Unit& unit = out.units.emplace_back(entities::Unit{text, entities::tokenize(text), {}});
    entities::annotate(unit.tokens, g);
    unit.words = entities::words_of_tokens(unit.tokens);
    return out.units.size() - 1;
  };
  if (article.title) out.title = add(*article.title);
  const bool lead_repeats = article.lead && !article.body.empty() && article.body.front() == *article.lead;
  if (article.lead && !lead_repeats) out.lead = add(*article.lead);
  out.body = out.units.size();
  if (lead_repeats) out.lead = out.body;
  for (const std::string& p : article.body) add(p);
  out.captions = out.units.size();
  for (const std::string& c : article.captions) add(c);
  return out;
}

}  // namespace vnawire::extract
