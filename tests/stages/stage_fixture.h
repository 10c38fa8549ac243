// Builds a stage from inline YAML options in a scratch folder, as the runtime would, for unit tests.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "stages/runtime/logging.h"
#include "stages/runtime/stage.h"

namespace vnawire::testing {

class StageFixture {
 public:
  StageFixture(const runtime::StageDescriptor& descriptor, const std::string& options_yaml) {
    char pattern[] = "/tmp/vnawire-unit-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    std::vector<runtime::ConfigError> errors;
    options_ = runtime::bind_options(YAML::Load(options_yaml.empty() ? "{}" : options_yaml), descriptor.options,
                                     "inline.yaml", "options", errors);
    for (const auto& error : errors) ADD_FAILURE() << error.to_string();
    context_.name = descriptor.type;
    context_.state_dir = dir_;
    context_.stage_dir = dir_ / descriptor.type;
    std::filesystem::create_directories(context_.stage_dir);
    context_.options = &options_;
    context_.log = runtime::make_logger(descriptor.type, "warn");
    context_.counters = &counters_;
    context_.dead_letter = [this](const std::string& reason, const std::string& id, const std::string&) {
      dead_letters.push_back(id + ": " + reason);
    };
    descriptor_ = &descriptor;
  }
  ~StageFixture() {
    stage_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Creates and starts a new instance (a second call simulates a restart on the same state).
  runtime::Stage& start() {
    const runtime::Status started = try_start();
    EXPECT_TRUE(started.ok()) << started.message();
    return *stage_;
  }
  // The same for a test of a start that must fail: the stage's own message.
  runtime::Status try_start() {
    stage_.reset();
    stage_ = descriptor_->create(context_);
    return stage_->start();
  }
  runtime::Stage& stage() { return *stage_; }
  const std::filesystem::path& dir() const { return dir_; }
  runtime::Counters& counters() { return counters_; }
  std::vector<std::string> dead_letters;

 private:
  std::filesystem::path dir_;
  runtime::Options options_;
  runtime::Counters counters_;
  runtime::StageContext context_;
  const runtime::StageDescriptor* descriptor_ = nullptr;
  std::unique_ptr<runtime::Stage> stage_;
};

inline runtime::Document make_document(const std::string& id, const std::string& body,
                                       const std::string& type = "text/plain") {
  runtime::Document d;
  d.header.id = id;
  d.record = {{"id", id}, {"url", nullptr}, {"content_type", type}, {"body", body}};
  return d;
}

}  // namespace vnawire::testing
