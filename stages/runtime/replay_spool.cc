// Claiming replay files by rename (so two source replicas never take the same one) and releasing them once sent.
#include "stages/runtime/replay_spool.h"

#include <algorithm>
#include <fstream>

#include "stages/runtime/codec.h"
#include "stages/runtime/dead_letter.h"

namespace vnawire::runtime {

std::filesystem::path replay_spool_dir(const std::filesystem::path& state_dir) { return state_dir / "replay"; }

ReplaySpool::ReplaySpool(const std::filesystem::path& state_dir, const std::string& stage, const std::string& identity)
    : spool_(replay_spool_dir(state_dir)), own_(spool_ / stage), claimed_(spool_ / "claimed" / identity) {}

bool ReplaySpool::claim_next() {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  // Files this replica claimed before a crash or a stop come first.
  for (const auto& folder : {claimed_, own_, spool_}) {
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
      if (entry.is_regular_file(ec) && entry.path().extension() == ".jsonl" &&
          !left_for_next_start_.count(entry.path().filename())) {
        files.push_back(entry.path());
      }
    }
    if (!files.empty()) break;
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::filesystem::path target = claimed_ / file.filename();
    if (file.parent_path() != claimed_) {
      std::filesystem::create_directories(claimed_, ec);
      std::filesystem::rename(file, target, ec);
      if (ec) continue;  // another replica claimed it first
    }
    std::ifstream in(target, std::ios::binary);
    lines_.clear();
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines_.push_back(std::move(line));
    }
    current_ = target;
    next_line_ = 0;
    outstanding_ = 0;
    keep_current_ = false;
    return true;
  }
  return false;
}

ReplaySpool::Taken ReplaySpool::take(int budget) {
  Taken taken;
  if (current_.empty() && !claim_next()) return taken;
  while (next_line_ < lines_.size() && static_cast<int>(taken.documents.size()) < budget) {
    const std::string& line = lines_[next_line_++];
    auto letter = parse_dead_letter(line);
    std::string why;
    if (letter) {
      auto document = decode(letter->header, letter->payload);
      if (document) {
        document->header.attempt += 1;
        taken.documents.push_back(std::move(document.value()));
        ++outstanding_;
        continue;
      }
      why = "cannot decode the document: " + document.error();
    } else {
      why = letter.error();
    }
    taken.problems.push_back("line " + std::to_string(next_line_) + " of " + current_.string() + ": " + why);
    taken.problem_lines.push_back(line);
  }
  if (outstanding_ == 0 && next_line_ >= lines_.size()) close_current();
  return taken;
}

void ReplaySpool::finish(bool keep) {
  keep_current_ = keep_current_ || keep;
  if (outstanding_ > 0) --outstanding_;
  if (outstanding_ == 0 && next_line_ >= lines_.size()) close_current();
}

void ReplaySpool::close_current() {
  if (current_.empty()) return;
  std::error_code ec;
  if (keep_current_) {
    left_for_next_start_.insert(current_.filename());
  } else {
    std::filesystem::remove(current_, ec);
  }
  current_.clear();
  lines_.clear();
  next_line_ = outstanding_ = 0;
}

}  // namespace vnawire::runtime
