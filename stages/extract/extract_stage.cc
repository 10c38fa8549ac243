// The extract stage: adds the article record (and the entity, event and quote lists) to each document.
#include "stages/extract/extract_stage.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "stages/extract/extract_article.h"
#include "stages/extract/extract_lexicon.h"
#include "stages/extract/extract_profiles.h"
#include "stages/extract/extract_record.h"
#include "stages/runtime/record.h"

namespace vnawire::extract {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;

// Written for the warm-up: names, a date, a dateline, an organisation and a quote, so that every part loads.
constexpr const char* kWarmUpText =
    "Essai de chargement des lexiques\n\nDa Nang, 3 février (VNA) – Le vice-ministre de l'Industrie Nguyen Van "
    "Binh a reçu mardi à Da Nang une délégation de la Chambre de commerce franco-vietnamienne. « Les échanges "
    "progressent », a-t-il déclaré, avant la signature d'un protocole d'accord sur la formation.\n\n-VNA\n";
constexpr const char* kWarmUpHtml =
    "<!DOCTYPE html><html lang=\"fr\"><head><title>Essai</title><meta property=\"article:published_time\" "
    "content=\"2026-02-03T08:00:00+07:00\"></head><body><article><h1>Essai de chargement</h1><p>Hanoï (VNA) – "
    "La ministre Tran Thi Lan a rencontré lundi son homologue laotien.</p></article></body></html>";

// The profiles' folder when sites_dir is empty. An installed vnawire finds them beside its binary
// (<prefix>/bin/../share/vnawire/sites), so an unpacked package works wherever it lies; a build tree has
// none there and reads the config/sites folder of the source tree it was built from.
std::filesystem::path default_sites_dir() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path installed = (exe.parent_path() / VNAWIRE_INSTALLED_SITES_DIR).lexically_normal();
    if (std::filesystem::is_directory(installed, ec)) return installed;
  }
  return VNAWIRE_SITES_DIR;
}

class ExtractStage final : public runtime::Stage {
 public:
  explicit ExtractStage(const runtime::StageContext& context)
      : context_(context), max_bytes_(static_cast<std::size_t>(context.options->get_int("max_bytes"))) {}

  // Profiles are read once here, so a bad one stops the stage before READY with file, line and key.
  runtime::Status start() override {
    runtime::Status loaded = load_profiles();
    if (loaded) warm_up();
    return loaded;
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    auto& record = document.record;
    const std::string* body = runtime::body_of(record);
    if (body == nullptr) return runtime::Verdict::dead_letter(runtime::kNoBody);
    const std::string& text = *body;
    if (text.size() > max_bytes_) return runtime::Verdict::dead_letter("body larger than max_bytes");
    const std::string type = record.value("content_type", std::string("text/plain"));
    Article article;
    if (type == "text/html" || type == "application/xhtml+xml") {
      const auto url = record.find("url");
      article = extract_html_page(text, url != record.end() && url->is_string() ? url->get<std::string>() : "",
                                  profiles_.empty() ? nullptr : &profiles_);
      context_.counters->add("html");
    } else {
      article = extract_text_dispatch(text);
      context_.counters->add("text");
    }
    if (!article.title && article.body.empty()) context_.counters->add("empty_article");
    add_article_fields(article, record);
    return runtime::Verdict::forward();
  }

 private:
  runtime::Status load_profiles() {
    if (!context_.options->get_bool("site_profiles")) return {};
    const std::string& given = context_.options->get_string("sites_dir");
    const std::filesystem::path dir = given.empty() ? default_sites_dir() : context_.resolve(given);
    std::error_code ec;
    if (given.empty() && !std::filesystem::is_directory(dir, ec)) {
      // The built-in folder is absent from this installation: run on the built-in reading alone.
      if (context_.log) context_.log->warn("no site profiles: {} is not a directory", dir.string());
      return {};
    }
    std::vector<ProfileError> errors;
    profiles_ = SiteProfiles::load_dir(dir, errors);
    if (!errors.empty()) {
      std::string message = "bad site profiles:";
      for (const ProfileError& e : errors) message += "\n  " + e.to_string();
      return runtime::Status::error(message);
    }
    if (context_.log) context_.log->info("{} site profile(s) from {}", profiles_.size(), dir.string());
    return {};
  }

  // One text dispatch and one HTML page through the whole extraction before READY: the lexicons, the
  // gazetteer and libxml2 load on first use, which the first document after every start would otherwise
  // wait for (without it, the first documents through a fresh pipeline took 157-220 ms: docs/performance.md).
  void warm_up() const {
    // The English word list too: the entity rules ask it of every capitalised word French does not know
    // (common_word), which the warm-up text has none of; the first name of the first real dispatch then
    // loaded it (53 million instructions by callgrind; 19-23 ms of wall time).
    for (const char* language : {"fr", "en"}) (void)system_lexicon(language);
    nlohmann::json record = nlohmann::json::object();
    add_article_fields(extract_text_dispatch(kWarmUpText), record);
    add_article_fields(
        extract_html_page(kWarmUpHtml, "https://warm-up.invalid/", profiles_.empty() ? nullptr : &profiles_), record);
  }

  const runtime::StageContext& context_;
  std::size_t max_bytes_;
  SiteProfiles profiles_;
};

}  // namespace

const runtime::StageDescriptor& extract_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "extract",
      "Extracts the article (title, lead, dates, dateline, body, captions, related items) from text and HTML.",
      runtime::StageRole::Processor,
      64,
      {
          OptionSpec{"max_bytes", OptionType::Int, std::int64_t{8 << 20},
                     "Larger bodies are dead-lettered instead of parsed.", false, 1.0, 1073741824.0},
          OptionSpec{"site_profiles", OptionType::Bool, true,
                     "Reads HTML pages by the site profile that matches them (docs/extract.md); false uses the "
                     "built-in reading only."},
          OptionSpec{"sites_dir", OptionType::String, std::string(),
                     "Folder of site profiles (*.yaml); empty means share/vnawire/sites beside the installed "
                     "binary, else the config/sites folder vnawire was built from; relative paths are taken under "
                     "state_dir."},
      },
      [](const runtime::StageContext& context) { return std::make_unique<ExtractStage>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::extract
