// The JSON form of an Article: the "article" object of the output contract (../shared/eval/README.md).
#include "stages/extract/extract_article.h"

#include <nlohmann/json.hpp>

namespace vnawire::extract {
namespace {

nlohmann::json optional_string(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json article_to_json(const Article& article) {
  try {
    nlohmann::json out = nlohmann::json::object();
    out["title"] = optional_string(article.title);
    out["lead"] = optional_string(article.lead);
    out["published"] = optional_string(article.published);
    if (article.dateline) {
      out["dateline"] = {{"place", optional_string(article.dateline->place)},
                         {"date", optional_string(article.dateline->date)}};
    } else {
      out["dateline"] = nullptr;
    }
    out["body"] = article.body;
    out["captions"] = article.captions;
    nlohmann::json related = nlohmann::json::array();
    for (const RelatedItem& item : article.related) {
      related.push_back({{"title", item.title}, {"url", optional_string(item.url)}});
    }
    out["related"] = std::move(related);
    nlohmann::json dates = nlohmann::json::array();
    for (const DateMention& d : article.dates) dates.push_back({{"text", d.text}, {"edtf", d.edtf}});
    out["dates"] = std::move(dates);
    if (article.meta) out["meta"] = metadata_to_json(*article.meta);
    return out;
  } catch (...) {
    // Only allocation can fail here; an empty article keeps the record well-formed.
    return {{"title", nullptr},
            {"lead", nullptr},
            {"published", nullptr},
            {"dateline", nullptr},
            {"body", nlohmann::json::array()},
            {"captions", nlohmann::json::array()},
            {"related", nlohmann::json::array()},
            {"dates", nlohmann::json::array()}};
  }
}

}  // namespace vnawire::extract
