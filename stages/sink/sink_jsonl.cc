// The JSON Lines sink: one record per line, appended; durable at each flush (fdatasync).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "stages/sink/sink_stages.h"

namespace vnawire::sink {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;

class JsonlSink final : public runtime::Stage {
 public:
  explicit JsonlSink(const runtime::StageContext& context) : context_(context) {}
  ~JsonlSink() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  runtime::Status start() override {
    std::string name = context_.options->get_string("path");
    // Replicas of one sink each write their own file, so lines never interleave.
    if (context_.replica > 0) name += "." + std::to_string(context_.replica);
    path_ = context_.resolve(name);
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    file_ = std::fopen(path_.c_str(), "ae");
    if (file_ == nullptr) return runtime::Status::error("cannot open " + path_.string() + ": " + std::strerror(errno));
    sync_ = context_.options->get_bool("fsync");
    return {};
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    std::string line = document.record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) {
      return runtime::Verdict::retry(std::string("write failed: ") + std::strerror(errno));
    }
    context_.counters->add("stored");
    return runtime::Verdict::forward();
  }

  runtime::Status flush() override {
    if (std::fflush(file_) != 0) return runtime::Status::error("cannot write " + path_.string());
    if (sync_ && ::fdatasync(fileno(file_)) != 0) {
      return runtime::Status::error("cannot sync " + path_.string() + ": " + std::strerror(errno));
    }
    return {};
  }

 private:
  const runtime::StageContext& context_;
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  bool sync_ = true;
};

}  // namespace

const runtime::StageDescriptor& jsonl_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "sink_jsonl",
      "Sink: appends each record as one JSON line to a file (replica N > 0 writes <path>.N).",
      runtime::StageRole::Sink,
      16,
      {
          OptionSpec{"path", OptionType::String, std::string("documents.jsonl"),
                     "The output file (relative paths are under state_dir)."},
          OptionSpec{"fsync", OptionType::Bool, true, "Sync the file to disk at each flush."},
      },
      [](const runtime::StageContext& context) { return std::make_unique<JsonlSink>(context); },
  };
  return descriptor;
}

}  // namespace vnawire::sink
