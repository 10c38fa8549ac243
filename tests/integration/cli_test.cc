// The command line as a user meets it: check-config, describe, the filters, the demo and queries of its database.
#include <sqlite3.h>

#include <cstdlib>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

TEST(Cli, CheckConfigReportsThreeErrorsWithFileLineColumnAndKey) {
  TempDir dir;
  const auto file = dir / "bad.yaml";
  write_file(file,
             "pipeline:\n"
             "  state_dir: state\n"
             "stages:\n"
             "  - name: fetch\n"
             "    type: fetch\n"
             "    options:\n"
             "      sources:\n"
             "        - {name: fr, kind: feed}\n"  // a feed without a url
             "  - name: out\n"
             "    type: sink_jsonl\n"
             "    inputs: [fetch]\n"
             "    colour: blue\n"               // unknown key
             "    options: {path: [a, b]}\n");  // wrong type
  Process check({kBinary, "check-config", file.string()}, dir.path());
  EXPECT_EQ(check.wait(seconds(20)), 1);
  const std::string errors = check.errors();
  EXPECT_NE(errors.find(file.string() + ":12:5: stages[1].colour: unknown key"), std::string::npos) << errors;
  EXPECT_NE(errors.find(file.string() + ":13:21: stages[1].options.path: expected a string, found a list"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find(file.string() + ":8:11: stages[0].options.sources[0].url: source fr: kind feed needs an "
                                        "absolute http(s) URL"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("3 error(s)"), std::string::npos) << errors;
}

TEST(Cli, VersionNamesTheAllocatorTheBuildLinked) {
  TempDir dir;
  ::unsetenv("MALLOC_CONF");  // an experiment's settings in the environment would override the binary's
  Process version({kBinary, "version"}, dir.path());
  ASSERT_EQ(version.wait(seconds(20)), 0) << version.errors();
  const std::string out = version.output();
  EXPECT_EQ(out.rfind("vnawire ", 0), 0u) << out;
#if VNAWIRE_EXPECT_JEMALLOC
  // jemalloc read the binary's malloc_conf: one arena, where its default is four per core.
  EXPECT_NE(out.find("allocator: jemalloc 5."), std::string::npos) << out;
  EXPECT_NE(out.find(", 1 arena\n"), std::string::npos) << out;
#else
  EXPECT_NE(out.find("allocator: glibc malloc 2."), std::string::npos) << out;
#endif
}

TEST(Cli, CheckConfigAcceptsTheShippedConfigs) {
  TempDir dir;
  for (const char* name : {"vnawire.yaml", "example-two-sinks.yaml", "example-postgres.yaml"}) {
    Process check({kBinary, "check-config", std::string(VNAWIRE_SOURCE_DIR) + "/config/" + name}, dir.path());
    EXPECT_EQ(check.wait(seconds(20)), 0) << name << ": " << check.errors();
  }
}

TEST(Cli, DescribeListsEveryStageAndItsOptions) {
  TempDir dir;
  Process describe({kBinary, "describe"}, dir.path());
  ASSERT_EQ(describe.wait(seconds(20)), 0);
  const std::string out = describe.output();
  for (const char* needle : {"stage type fetch", "stage type dedupe", "stage type langid", "stage type extract",
                             "stage type sink_jsonl", "stage type sink_sqlite", "stage type sink_postgres",
                             "sources (a list of maps", "drain_timeout_ms (an integer, default 30000"}) {
    EXPECT_NE(out.find(needle), std::string::npos) << needle;
  }
}

TEST(Cli, ExtractFilterAddsTheArticleAndReportsBadLines) {
  TempDir dir;
  const std::string input =
      R"({"id":"a","url":null,"content_type":"text/plain","body":"Un titre\n\nHanoï (VNA) – Le texte du jour. -VNA","extra":7})"
      "\n"
      "this is not json\n"
      R"({"url":"no id"})"
      "\n";
  Process filter({kBinary, "extract"}, dir.path(), input);
  EXPECT_EQ(filter.wait(seconds(20)), 1);
  const std::string out = filter.output();
  auto record = nlohmann::json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(record["id"], "a");
  EXPECT_EQ(record["extra"], 7);  // unknown fields pass through untouched
  EXPECT_EQ(record["article"]["title"], "Un titre");
  EXPECT_TRUE(record["entities"]["persons"].is_array());
  EXPECT_NE(filter.errors().find("line 2: not a JSON object"), std::string::npos) << filter.errors();
  EXPECT_NE(filter.errors().find("line 3: the record has no string \"id\""), std::string::npos) << filter.errors();
}

TEST(Cli, DedupeFilterTagsAndNeverDrops) {
  TempDir dir;
  const std::string input =
      R"({"id":"a","content_type":"text/plain","body":"Le Même texte, ici. Et la suite de la dépêche, assez longue pour compter."})"
      "\n"
      R"({"id":"b","content_type":"text/plain","body":"le meme   TEXTE ici et la suite de la depeche assez longue pour compter"})"
      "\n"
      R"({"id":"c","content_type":"text/plain","body":"Un autre texte."})"
      "\n"
      // A re-edit of a: near duplicates are tagged and passed too, never dropped.
      R"({"id":"d","content_type":"text/plain","body":"Photo : VNA\nLe même texte, ici ! Et la suite de la dépêche, assez longue pour compter."})"
      "\n";
  Process filter({kBinary, "dedupe"}, dir.path(), input);
  ASSERT_EQ(filter.wait(seconds(20)), 0) << filter.errors();
  auto out = filter.output();
  std::vector<nlohmann::json> records;
  std::size_t start = 0, end;
  while ((end = out.find('\n', start)) != std::string::npos) {
    records.push_back(nlohmann::json::parse(out.substr(start, end - start)));
    start = end + 1;
  }
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0]["dedupe"]["status"], "unique");
  EXPECT_EQ(records[1]["dedupe"]["status"], "duplicate");
  EXPECT_EQ(records[1]["dedupe"]["of"], "a");
  EXPECT_EQ(records[2]["dedupe"]["status"], "unique");
  EXPECT_EQ(records[3]["dedupe"]["status"], "near_duplicate");
  EXPECT_EQ(records[3]["dedupe"]["of"], "a");
  EXPECT_EQ(records[3]["dedupe"]["similarity"], 1.0);
}

TEST(Cli, FiltersTakeOptionsAsYamlAndRejectUnknownOnes) {
  TempDir dir;
  const std::string input =
      R"({"id":"a","content_type":"text/plain","body":"Le même texte, ici. Et la suite de la dépêche, assez longue pour compter."})"
      "\n"
      R"({"id":"d","content_type":"text/plain","body":"Photo : VNA\nLe même texte, ici ! Et la suite de la dépêche, assez longue pour compter."})"
      "\n";
  Process exact_only({kBinary, "dedupe", "--options", "{near_method: off}"}, dir.path(), input);
  ASSERT_EQ(exact_only.wait(seconds(20)), 0) << exact_only.errors();
  const std::string out = exact_only.output();
  EXPECT_EQ(nlohmann::json::parse(out.substr(out.find('\n') + 1))["dedupe"]["status"], "unique") << out;
  Process wrong({kBinary, "dedupe", "--options", "{near_methd: off}"}, dir.path(), input);
  EXPECT_EQ(wrong.wait(seconds(20)), 2);
  EXPECT_NE(wrong.errors().find("near_methd"), std::string::npos) << wrong.errors();
}

TEST(Cli, LangidFilterIdentifiesLanguages) {
  TempDir dir;
  const std::string input =
      R"({"id":"fr","body":"Le gouvernement a présenté mardi un nouveau plan pour moderniser les chemins de fer du pays."})"
      "\n"
      R"({"id":"vi","body":"Chính phủ đã trình bày kế hoạch mới nhằm hiện đại hóa hệ thống đường sắt của đất nước."})"
      "\n";
  Process filter({kBinary, "langid"}, dir.path(), input);
  ASSERT_EQ(filter.wait(seconds(20)), 0) << filter.errors();
  const std::string out = filter.output();
  auto first = nlohmann::json::parse(out.substr(0, out.find('\n')));
  auto second = nlohmann::json::parse(out.substr(out.find('\n') + 1));
  EXPECT_EQ(first["lang"]["code"], "fr");
  EXPECT_GT(first["lang"]["confidence"].get<double>(), 0.5);
  EXPECT_EQ(second["lang"]["code"], "vi");
}

TEST(Cli, DemoRunsTheWholePipelineOnTheEmbeddedSamples) {
  TempDir dir;
  const auto state = dir / "demo-state";
  Process demo({kBinary, "demo", "--state-dir", state.string()}, dir.path());
  ASSERT_EQ(demo.wait(seconds(120)), 0) << demo.output() << demo.errors();
  const std::string out = demo.output();
  EXPECT_NE(out.find("state directory " + state.string()), std::string::npos) << out;
  // 3 exact copies and 4 re-edited ones.
  EXPECT_NE(out.find("duplicates dropped: 7"), std::string::npos) << out;
  EXPECT_NE(out.find("fr="), std::string::npos) << out;
  EXPECT_NE(out.find("vi="), std::string::npos) << out;
  EXPECT_NE(out.find("zh="), std::string::npos) << out;

  const auto manifest =
      nlohmann::json::parse(read_file(std::string(VNAWIRE_SOURCE_DIR) + "/examples/samples/MANIFEST.json"));
  std::size_t distinct = 0;
  for (const auto& entry : manifest) {
    distinct += entry["duplicate_of"].is_null() && entry["near_duplicate_of"].is_null() ? 1 : 0;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((state / "demo.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), count(title) FROM documents", -1, &count, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(static_cast<std::size_t>(sqlite3_column_int(count, 0)), distinct);
  EXPECT_GE(sqlite3_column_int(count, 1), static_cast<int>(distinct) - 3);  // a few samples have no title line
  sqlite3_finalize(count);
  sqlite3_close(db);

  // A second run starts afresh in the same folder; a folder it did not make is refused.
  Process again({kBinary, "demo", "--state-dir", state.string()}, dir.path());
  EXPECT_EQ(again.wait(seconds(120)), 0) << again.errors();
  write_file(dir / "precious/data.txt", "keep me");
  Process refused({kBinary, "demo", "--state-dir", (dir / "precious").string()}, dir.path());
  EXPECT_EQ(refused.wait(seconds(20)), 1);
  EXPECT_EQ(read_file(dir / "precious/data.txt"), "keep me");
}

TEST(Cli, QueryAnswersTextPersonAndCountryQuestionsOnTheDemoDatabase) {
  TempDir dir;
  const auto state = dir / "demo-state";
  Process demo({kBinary, "demo", "--state-dir", state.string()}, dir.path());
  ASSERT_EQ(demo.wait(seconds(120)), 0) << demo.errors();
  const std::string db = (state / "demo.db").string();
  const auto ask = [&](std::vector<std::string> question) {
    std::vector<std::string> argv = {kBinary, "query", "--db", db, "--json"};
    argv.insert(argv.end(), question.begin(), question.end());
    Process query(argv, dir.path());
    EXPECT_EQ(query.wait(seconds(30)), 0) << query.errors();
    return nlohmann::json::parse(query.output());
  };
  // Accents are ignored: "hanoi" finds "Hanoï".
  const auto found = ask({"search", "hanoi"});
  ASSERT_FALSE(found.empty());
  for (const auto& row : found) EXPECT_FALSE(row["id"].get<std::string>().empty());
  // A person in another spelling of the same name, with the events they took part in.
  const auto person = ask({"person", "Phạm Quốc Tuấn"});
  EXPECT_EQ(person["key"], "pham quoc tuan");
  ASSERT_FALSE(person["appearances"].empty());
  ASSERT_FALSE(person["events"].empty());
  EXPECT_EQ(person["events"][0]["type"], "meeting");
  const auto between = ask({"between", "vn", "hu"});
  ASSERT_EQ(between.size(), 1u);
  EXPECT_NE(between[0]["participants"].get<std::string>().find("Pham Quoc Tuan"), std::string::npos);
  EXPECT_TRUE(ask({"between", "vn", "hu", "--from", "2020"}).empty()) << "its year is unknown";
  Process missing({kBinary, "query", "--db", (dir / "none.db").string(), "search", "x"}, dir.path());
  EXPECT_EQ(missing.wait(seconds(30)), 2);
  EXPECT_NE(missing.errors().find("none.db"), std::string::npos) << missing.errors();
}

}  // namespace
}  // namespace vnawire::testing
