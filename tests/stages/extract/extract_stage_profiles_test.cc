// Tests of the extract stage's site-profile options: the folder is read at start, a bad profile stops
// the stage with its file, line and key, and the option that turns profiles off.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "stages/extract/extract_stage.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::extract {
namespace {

const char* const kStageProfilePage =
    "<html><head><title>Titre du portail</title></head><body><div id=\"une\">Le titre de la page</div>"
    "<p>Un paragraphe de texte.</p></body></html>";

void write_profile(const std::filesystem::path& dir, const std::string& title_xpath) {
  std::filesystem::create_directories(dir / "sites");
  std::ofstream(dir / "sites" / "une.yaml")
      << "name: une\nmatch:\n  hosts: [une.example]\nselect:\n  title: " << title_xpath << "\n";
}

// The title the stage gives the page when it comes from `url`.
std::string title_at(runtime::Stage& stage, const std::string& url) {
  runtime::Document page = testing::make_document("p", kStageProfilePage, "text/html");
  page.record["url"] = url;
  stage.on_message(page);
  return page.record["article"]["title"].get<std::string>();
}

TEST(ExtractStageProfiles, ProfilesFromARelativeSitesDirAreUsed) {
  testing::StageFixture fixture(extract_descriptor(), "sites_dir: sites");
  write_profile(fixture.dir(), "//div[@id='une']");
  runtime::Stage& stage = fixture.start();
  EXPECT_EQ(title_at(stage, "https://www.une.example/a.html"), "Le titre de la page");
  EXPECT_EQ(title_at(stage, "https://autre.example/a.html"), "Titre du portail");
}

TEST(ExtractStageProfiles, ABadProfileStopsTheStageWithFileLineAndKey) {
  testing::StageFixture fixture(extract_descriptor(), "sites_dir: sites");
  write_profile(fixture.dir(), "//div[");
  const runtime::Status started = fixture.try_start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("une.yaml:5:10: select.title: XPath does not compile"), std::string::npos)
      << started.message();
  testing::StageFixture missing(extract_descriptor(), "sites_dir: nowhere");
  EXPECT_FALSE(missing.try_start().ok());  // a folder named on purpose must be there
}

TEST(ExtractStageProfiles, ProfilesCanBeTurnedOff) {
  testing::StageFixture fixture(extract_descriptor(), "sites_dir: sites\nsite_profiles: false");
  write_profile(fixture.dir(), "//div[");
  EXPECT_EQ(title_at(fixture.start(), "https://une.example/a.html"), "Titre du portail");
}

}  // namespace
}  // namespace vnawire::extract
