// The fetch stage's options: sources bound from YAML, with errors that name the file, line and key.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "stages/fetch/fetch_config.h"

namespace vnawire::fetch {
namespace {

struct Bound {
  runtime::Options options;
  std::vector<runtime::ConfigError> errors;
};

Bound bind(const std::string& yaml) {
  Bound bound;
  bound.options =
      runtime::bind_options(YAML::Load(yaml), fetch_option_specs(), "fetch.yaml", "options", bound.errors);
  return bound;
}

TEST(FetchConfig, SourcesOfEveryKindBecomeSettings) {
  auto bound = bind(R"yaml(
sources:
  - {name: fr, kind: site, url: "https://fr.example.invalid/", since: 2026-11-01, language: fr}
  - {name: feed, kind: feed, url: "https://example.invalid/rss.xml", interval_ms: 60000}
  - {name: list, kind: listing, url: "https://example.invalid/politique", link_regex: "/politique/.+\\.html$"}
  - {name: inbox, kind: directory, path: inbox}
  - {name: archive, kind: warc, path: /data/crawl.warc.gz}
  - {name: off, kind: feed, url: "https://example.invalid/off.xml", enabled: false}
user_agent: "vnawire-test/1.0 (+contact)"
per_host_interval_ms: 2000
)yaml");
  ASSERT_TRUE(bound.errors.empty()) << bound.errors[0].to_string();
  auto settings = fetch_settings_from(bound.options, "/var/lib/vnawire");
  ASSERT_TRUE(settings.ok()) << settings.error();
  ASSERT_EQ(settings->web.size(), 3u);
  EXPECT_EQ(settings->web[0].since, "2026-11-01T00:00:00Z");
  EXPECT_EQ(settings->web[1].interval, std::chrono::milliseconds(60000));
  EXPECT_EQ(settings->web[2].kind, "listing");
  ASSERT_EQ(settings->directories.size(), 1u);
  EXPECT_EQ(settings->directories[0].directory, "/var/lib/vnawire/inbox");
  ASSERT_EQ(settings->warcs.size(), 1u);
  EXPECT_EQ(settings->crawl.agent_token, "vnawire-test");
  EXPECT_EQ(settings->crawl.per_host_interval, std::chrono::milliseconds(2000));
  // Only sources that say their language have one: langid takes it as a hint.
  EXPECT_EQ(settings->source_languages, (std::map<std::string, std::string>{{"fr", "fr"}}));
}

// A folder listed among the sources is scanned as often as the `directory` shorthand's, not every five
// minutes like a feed, unless it says otherwise.
TEST(FetchConfig, ASourceWithoutAnIntervalGetsTheOneOfItsKind) {
  auto bound = bind(R"yaml(
sources:
  - {name: feed, kind: feed, url: "https://example.invalid/rss.xml"}
  - {name: inbox, kind: directory, path: inbox}
  - {name: slow, kind: directory, path: slow, interval_ms: 60000}
poll_interval_ms: 250
)yaml");
  ASSERT_TRUE(bound.errors.empty()) << bound.errors[0].to_string();
  auto settings = fetch_settings_from(bound.options, "/var/lib/vnawire");
  ASSERT_TRUE(settings.ok()) << settings.error();
  ASSERT_EQ(settings->web.size(), 1u);
  EXPECT_EQ(settings->web[0].interval, std::chrono::milliseconds(300000));
  ASSERT_EQ(settings->directories.size(), 2u);
  EXPECT_EQ(settings->directories[0].interval, std::chrono::milliseconds(250));
  EXPECT_EQ(settings->directories[1].interval, std::chrono::milliseconds(60000));
}

TEST(FetchConfig, BadSourceKeysAreReportedWithFileLineAndKey) {
  auto bound = bind("sources:\n  - name: a\n    kind: rss\n  - name: b\n    colour: blue\n");
  ASSERT_EQ(bound.errors.size(), 2u);
  EXPECT_EQ(bound.errors[0].to_string().substr(0, 48), "fetch.yaml:3:11: options.sources[0].kind: 'rss' ");
  EXPECT_EQ(bound.errors[1].line, 5);
  EXPECT_EQ(bound.errors[1].key, "options.sources[1].colour");
}

TEST(FetchConfig, SourcesThatCannotWorkAreRefusedWithTheirName) {
  for (const auto& [yaml, expected] : std::vector<std::pair<std::string, std::string>>{
           {"sources: [{name: a, kind: feed}]", "sources[0].url: source a: kind feed needs an absolute http(s) URL"},
           {"sources: [{name: a, kind: feed, url: 'ftp://x/y'}]", "needs an absolute http(s) URL"},
           {"sources: [{name: a, kind: warc}]", "sources[0].path: source a: kind warc needs a path"},
           {"sources: [{name: a, kind: listing, url: 'https://x.invalid/'}]", "needs link_regex or link_xpath"},
           {"sources: [{name: a, kind: listing, url: 'https://x.invalid/', link_regex: '(['}]", "link_regex:"},
           {"sources: [{name: a, url: 'https://x.invalid/', since: yesterday}]", "sources[0].since: source a: 'yesterday' is not a date"},
           {"sources: [{name: a, url: 'https://x.invalid/'}, {name: a, url: 'https://y.invalid/'}]",
            "another source has this name"},
           {"{}", "no source"},
       }) {
    auto bound = bind(yaml);
    ASSERT_TRUE(bound.errors.empty()) << yaml;
    auto settings = fetch_settings_from(bound.options, "/tmp");
    ASSERT_FALSE(settings.ok()) << yaml;
    EXPECT_NE(settings.error().find(expected), std::string::npos) << settings.error();
  }
}

}  // namespace
}  // namespace vnawire::fetch
