// A generated stream of dispatches with known copies, for dedupe's counts, restart and benchmark.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace vnawire::testing {

struct StreamItem {
  std::string id;
  std::string body;
  std::string expected;  // unique, duplicate, near_duplicate or replay
  std::string of;        // for copies: the id of the original
};

// Unique dispatches of random words (a fixed seed: the same stream every run), and among them re-edits
// of a recent one (a paragraph cut, words changed, a caption and a "Voir plus" block added), exact
// copies under a new id, and replays of an earlier id.
class DispatchStream {
 public:
  explicit DispatchStream(std::uint64_t seed = 42) : random_(seed) {
    static const char* kSyllables[] = {"ba", "co", "de", "fi", "gu", "la", "mo", "ne", "pi", "ru",
                                       "sa", "to", "vi", "xu", "an", "en", "on", "ur", "ti", "qua"};
    for (int i = 0; i < 8000; ++i) {
      std::string word;
      for (int s = 0, n = 2 + i % 3; s < n; ++s) word += kSyllables[random_() % 20];
      vocabulary_.push_back(word);
    }
  }

  StreamItem next() {
    const auto roll = random_() % 100;
    const std::size_t count = originals_.size();
    if (count > 10 && roll < 10) return reedit();
    if (count > 10 && roll < 13) return copy("duplicate");
    if (count > 10 && roll < 15) return copy("replay");
    return original();
  }

 private:
  std::string sentence(int words) {
    std::string out;
    for (int i = 0; i < words; ++i) out += (i ? " " : "") + vocabulary_[random_() % vocabulary_.size()];
    return out + ".";
  }

  StreamItem original() {
    std::vector<std::string> paragraphs;
    paragraphs.push_back("Hanoï (VNA) - " + sentence(20) + " en " + std::to_string(2000 + random_() % 25) + ".");
    for (int p = 0; p < 7; ++p) paragraphs.push_back(sentence(20));
    StreamItem item{"d" + std::to_string(next_id_++), join(paragraphs) + "\n-VNA", "unique", ""};
    originals_.push_back({item.id, std::move(paragraphs)});
    if (originals_.size() > kRecent) originals_.pop_front();  // a stream of 10^7 stays a few MB
    return item;
  }

  const std::pair<std::string, std::vector<std::string>>& recent() {
    const std::size_t back = std::min<std::size_t>(originals_.size(), kRecent);
    return originals_[originals_.size() - 1 - random_() % back];
  }

  StreamItem reedit() {
    const auto& [of, source] = recent();
    std::vector<std::string> paragraphs = source;
    paragraphs.erase(paragraphs.begin() + 1 + static_cast<long>(random_() % (paragraphs.size() - 1)));
    std::string& changed = paragraphs[1 + random_() % (paragraphs.size() - 1)];
    for (int w = 0; w < 3; ++w) {
      const std::size_t space = changed.find(' ', random_() % changed.size());
      if (space != std::string::npos) changed.insert(space, " " + vocabulary_[random_() % vocabulary_.size()]);
    }
    std::string body = sentence(6) + " Photo : VNA\n" + join(paragraphs) + "\nVoir plus\n" + sentence(8);
    return {"d" + std::to_string(next_id_++), std::move(body), "near_duplicate", of};
  }

  StreamItem copy(const char* kind) {
    const auto& [of, source] = recent();
    const std::string body = join(source) + "\n-VNA";
    if (std::string(kind) == "replay") return {of, body, "replay", ""};
    return {"d" + std::to_string(next_id_++), body, "duplicate", of};
  }

  static std::string join(const std::vector<std::string>& paragraphs) {
    std::string out;
    for (const auto& p : paragraphs) out += (out.empty() ? "" : "\n\n") + p;
    return out;
  }

  static constexpr std::size_t kRecent = 1000;  // copies are made of the last thousand originals
  std::mt19937_64 random_;
  std::vector<std::string> vocabulary_;
  std::deque<std::pair<std::string, std::vector<std::string>>> originals_;
  std::uint64_t next_id_ = 0;
};

}  // namespace vnawire::testing
