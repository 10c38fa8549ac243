// A vnawire sink in C++ with the SDK (an exec stage in zmq mode, docs/sinks.md): each record is stored as
// DIR/<id>.json, written aside and renamed, so that a replay rewrites the same file and a reader never sees
// half of one. DIR is the first argument, else the stage's own folder (VNAWIRE_STATE_DIR).
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <vnawire/sdk.h>

int main(int argc, char** argv) {
  const char* state_dir = std::getenv("VNAWIRE_STATE_DIR");
  const std::filesystem::path dir = argc > 1 ? argv[1] : state_dir != nullptr ? state_dir : ".";
  std::filesystem::create_directories(dir);
  return vnawire::sdk::run_sink([&](const vnawire::sdk::Document& document) {
    if (document.id.empty() || document.id.front() == '.' || document.id.find('/') != std::string::npos) {
      return vnawire::sdk::Outcome::error("no usable id for a file name");
    }
    const std::filesystem::path file = dir / (document.id + ".json"), aside = dir / (document.id + ".json.tmp");
    std::ofstream out(aside);
    out << document.record.dump() << '\n';
    out.close();
    std::error_code ec;
    if (out) std::filesystem::rename(aside, file, ec);
    if (!out || ec) return vnawire::sdk::Outcome::retry("cannot write " + file.string());  // a full disk, say
    return vnawire::sdk::Outcome::ok();
  });
}
