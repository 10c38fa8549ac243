// Test helper of the dedupe suites: a document passed through a dedupe stage in tag mode.
#pragma once

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stages/runtime/stage.h"
#include "tests/stages/stage_fixture.h"

namespace vnawire::testing {

// Passes a document through `stage`, expecting it forwarded; returns its "dedupe" tag.
inline nlohmann::json tag_after(runtime::Stage& stage, const std::string& id, const std::string& text,
                                const std::string& type = "text/plain", const std::string& url = "") {
  auto document = make_document(id, text, type);
  if (!url.empty()) document.record["url"] = url;
  EXPECT_EQ(stage.on_message(document).disposition, runtime::Disposition::Forward) << id.substr(0, 16);
  return document.record["dedupe"];
}

}  // namespace vnawire::testing
