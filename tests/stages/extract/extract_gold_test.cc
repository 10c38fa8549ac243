// Checks the text extractor against the development gold set in ../shared/eval/dev/gold.jsonl.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "extract_test_util.h"
#include "stages/extract/extract_article.h"
#include "stages/extract/extract_text_util.h"

namespace vnawire::extract {
namespace {

// Python's re.findall(r"\w+") on lower-cased NFC text, as score.py tokenises.
std::map<std::string, int> tokens(const std::string& text) {
  std::map<std::string, int> bag;
  const std::string low = util::to_lower(util::to_nfc(text));
  std::string cur;
  for (std::size_t i = 0; i <= low.size();) {
    const std::size_t start = i;
    const char32_t c = i < low.size() ? util::next_code_point(low, i) : U' ';
    if (i == start) ++i;
    if (util::is_letter(c) || util::is_digit(c) || c == U'_') {
      cur.append(low, start, i - start);
    } else if (!cur.empty()) {
      ++bag[cur];
      cur.clear();
    }
  }
  return bag;
}

double bag_f1(const std::string& pred, const std::string& gold) {
  const auto p = tokens(pred);
  const auto g = tokens(gold);
  if (p.empty() && g.empty()) return 1.0;
  int common = 0, np = 0, ng = 0;
  for (const auto& [t, n] : p) {
    np += n;
    if (const auto it = g.find(t); it != g.end()) common += std::min(n, it->second);
  }
  for (const auto& [t, n] : g) ng += n;
  if (common == 0) return 0.0;
  const double prec = static_cast<double>(common) / np;
  const double rec = static_cast<double>(common) / ng;
  return 2 * prec * rec / (prec + rec);
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += p + " ";
  return out;
}

TEST(ExtractGold, DevelopmentSet) {
#ifndef VNAWIRE_SHARED_DIR
  GTEST_SKIP() << "VNAWIRE_SHARED_DIR is not defined";
#else
  const std::filesystem::path path = std::filesystem::path(VNAWIRE_SHARED_DIR) / "eval" / "dev" / "gold.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing";
  std::istringstream lines(extract_testing::read_file(path));
  std::string line;
  int documents = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const nlohmann::json doc = nlohmann::json::parse(line);
    const nlohmann::json& input = doc["input"];
    const nlohmann::json& gold = doc["expect"]["article"];
    const std::string id = doc["id"].get<std::string>();
    const std::string body = input["body"].get<std::string>();
    const bool html = input.value("content_type", "").find("html") != std::string::npos;
    const Article a = html ? extract_html_page(body, input["url"].is_string() ? input["url"].get<std::string>() : "")
                           : extract_text_dispatch(body);
    if (gold["title"].is_string()) {
      ASSERT_TRUE(a.title.has_value()) << id;
      EXPECT_EQ(util::fold_spaces(*a.title), util::fold_spaces(gold["title"].get<std::string>())) << id;
    }
    if (gold["dateline"].is_object() && gold["dateline"]["place"].is_string()) {
      ASSERT_TRUE(a.dateline.has_value()) << id;
      EXPECT_EQ(util::fold_key(a.dateline->place.value_or("")),
                util::fold_key(gold["dateline"]["place"].get<std::string>()))
          << id;
    }
    const double f1 = bag_f1(join(a.body), join(gold["body"].get<std::vector<std::string> >()));
    EXPECT_GE(f1, 0.85) << id;
    ++documents;
  }
  EXPECT_GT(documents, 0);
#endif
}

}  // namespace
}  // namespace vnawire::extract
