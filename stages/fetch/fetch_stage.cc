// The fetch stage: the runtime's lifecycle around FetchEngine (sources, state and documents live there).
#include "stages/fetch/fetch_stage.h"

#include <cstdio>

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "stages/fetch/fetch_config.h"
#include "stages/fetch/fetch_engine.h"

namespace vnawire::fetch {
namespace {

class FetchStage final : public runtime::Stage {
 public:
  explicit FetchStage(const runtime::StageContext& context) : context_(context) {}

  runtime::Status start() override {
    auto settings = fetch_settings_from(*context_.options, context_.state_dir);
    if (!settings) return runtime::Status::error(settings.error());
    FetchHooks hooks;
    hooks.count = [this](const std::string& counter, std::uint64_t n) { context_.counters->add(counter, n); };
    hooks.warn = [this](const std::string& source, const std::string& message) {
      context_.log->warn("source {}: {}", source, message);
    };
    hooks.dead_letter = [this](const std::string& reason, const std::string& id, const std::string& payload) {
      context_.dead_letter(reason, id, payload);
    };
    engine_ = std::make_unique<FetchEngine>(std::move(*settings), context_.name, context_.stage_dir, std::move(hooks));
    runtime::Status started = engine_->start();
    if (!engine_->state_set_aside().empty()) context_.log->error("{}", engine_->state_set_aside());
    return started;
  }

  std::chrono::milliseconds produce(runtime::Emitter& out, int budget) override {
    return engine_->produce(out, budget);
  }

  void on_sent(const runtime::Document& document) override { engine_->on_sent(document); }

  runtime::SourceProgress progress() const override {
    return engine_ ? engine_->progress() : runtime::SourceProgress{};
  }

  void on_abandoned(const runtime::Document& document, const std::string& reason) override {
    context_.log->warn("document {} abandoned ({}): it stays pending and is fetched again at the next start",
                       document.header.id, reason);
    engine_->on_abandoned(document);
  }

  runtime::Status flush() override { return engine_ ? engine_->flush() : runtime::Status(); }

 private:
  const runtime::StageContext& context_;
  std::unique_ptr<FetchEngine> engine_;
};

}  // namespace

std::string xxh3_hex(std::string_view text) {
  char hex[20];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  return hex;
}

std::string document_id_for(const std::string& location) { return "f-" + xxh3_hex(location); }

const runtime::StageDescriptor& fetch_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "fetch",
      "Source: tails web sites (feeds, sitemaps, listing pages, discovered from a site root), folders and WARC "
      "files; one document per article, emitted once and again only when it changes.",
      runtime::StageRole::Source,
      1,
      fetch_option_specs(),
      [](const runtime::StageContext& context) { return std::make_unique<FetchStage>(context); },
      check_fetch_options,
  };
  return descriptor;
}

}  // namespace vnawire::fetch
