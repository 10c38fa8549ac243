// Bad input through the whole pipeline: invalid UTF-8, NUL bytes, an empty file, a wrong declared charset,
// binary bytes named .html, a 50 MB page, 100,000 nested elements, a feed of 100,000 items and an entity
// bomb. No stage may crash; each document is stored or dead-lettered with its reason; the stop balances.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>

#include "tests/integration/harness.h"

namespace vnawire::testing {
namespace {

using std::chrono::seconds;

constexpr const char* kCorpus = VNAWIRE_SOURCE_DIR "/tests/data/badinput";
constexpr int kLinkedPages = 5;

std::string article_page(int n) {
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Bulletin " + std::to_string(n) +
         "</title></head><body><article><h1>Bulletin provincial " + std::to_string(n) +
         "</h1><p>Vinh, 4 mars (VNA) - Le conseil de la province a adopté le budget " + std::to_string(n) +
         " consacré aux routes rurales et aux écoles de montagne.</p><p>Les travaux commenceront au printemps "
         "selon le calendrier présenté par le département des transports.</p></article></body></html>";
}

// Every line of every dead-letter file.
std::vector<nlohmann::json> dead_letters(const std::filesystem::path& folder) {
  std::vector<nlohmann::json> letters;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.path().extension() != ".jsonl") continue;
    for (const auto& line : read_lines(entry.path())) letters.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return letters;
}

TEST(BadInput, NastyInputsAreStoredOrDeadLetteredWithAReasonAndNoStageCrashes) {
  TempDir dir;
  const auto inbox = dir / "inbox";
  std::filesystem::create_directories(inbox);
  for (const char* name : {"invalid-utf8.txt", "nul-bytes.txt", "empty.txt", "wrong-charset.html"}) {
    std::filesystem::copy_file(std::filesystem::path(kCorpus) / name, inbox / name);
  }
  write_file(inbox / "huge.html", "<html><body><p>" + std::string(50u << 20, 'x') + "</p></body></html>");
  std::string nested = "<html><body>";
  for (int i = 0; i < 100000; ++i) nested += "<div>";
  nested += "Hanoï, 5 mars (VNA) - Texte au fond de cent mille éléments.";
  for (int i = 0; i < 100000; ++i) nested += "</div>";
  write_file(inbox / "nested.html", nested + "</body></html>");
  std::mt19937 random(42);
  std::string binary(65536, '\0');
  for (auto& byte : binary) byte = static_cast<char>(random());
  write_file(inbox / "binary.html", binary);
  const std::vector<std::string> files = {"invalid-utf8.txt", "nul-bytes.txt", "empty.txt",  "wrong-charset.html",
                                          "huge.html",        "nested.html",   "binary.html"};

  StaticServer server;
  std::string feed = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Cent mille</title>";
  for (int i = 0; i < 100000; ++i) {
    feed += "<item><title>Item " + std::to_string(i) + "</title><link>" + server.base_url() + "/page-" +
            std::to_string(i % kLinkedPages) + ".html</link><guid>item-" + std::to_string(i) + "</guid></item>";
  }
  server.put("/feed-100k.xml", {"application/rss+xml", feed + "</channel></rss>"});
  server.put("/bomb.xml", {"application/rss+xml", read_file(std::filesystem::path(kCorpus) / "entity-bomb.xml")});
  for (int n = 0; n < kLinkedPages; ++n)
    server.put("/page-" + std::to_string(n) + ".html", {"text/html", article_page(n)});

  write_file(
      dir / "pipeline.yaml",
      "pipeline:\n  state_dir: " + (dir / "state").string() +
          "\n  flush_interval_ms: 100\n  heartbeat_ms: 200\n  stage_timeout_ms: " + std::to_string(10000 * kTimeScale) +
          "\nstages:\n"
          "  - name: fetch\n    type: fetch\n    options:\n      per_host_interval_ms: 0\n"
          "      respect_robots: false\n      sources:\n"
          "        - {name: files, kind: directory, path: '" +
          inbox.string() +
          "', settle_ms: 50}\n"
          "        - {name: many, kind: feed, url: '" +
          server.base_url() +
          "/feed-100k.xml', interval_ms: 3600000, allow_private: true}\n"
          "        - {name: bomb, kind: feed, url: '" +
          server.base_url() +
          "/bomb.xml', interval_ms: 3600000, allow_private: true}\n"
          "  - name: dedupe\n    type: dedupe\n    inputs: [fetch]\n    options: {action: tag, near_action: tag}\n"
          "  - name: langid\n    type: langid\n    inputs: [dedupe]\n"
          "  - name: extract\n    type: extract\n    inputs: [langid]\n"
          "  - name: out\n    type: sink_jsonl\n    inputs: [extract]\n    options: {path: out.jsonl}\n");
  Process daemon({kBinary, "run", "-c", (dir / "pipeline.yaml").string()}, dir.path());
  const auto sink = dir / "state/out.jsonl";
  const std::size_t expected = files.size() + kLinkedPages;
  const bool settled =
      wait_until([&] { return stored_urls(sink).size() + dead_letters(dir / "state/deadletter").size() >= expected; },
                 seconds(180));
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(seconds(60)), 0) << daemon.errors();
  ASSERT_TRUE(settled) << daemon.errors();
  const std::string log = daemon.errors();
  EXPECT_EQ(log.find("killed by signal"), std::string::npos) << log;
  EXPECT_EQ(log.find("exited with code"), std::string::npos) << log;

  const auto urls = stored_urls(sink);
  const auto letters = dead_letters(dir / "state/deadletter");
  for (const auto& letter : letters) {
    ASSERT_TRUE(letter.is_object());
    EXPECT_FALSE(letter.value("reason", std::string()).empty()) << letter.dump();
  }
  for (const auto& name : files) {
    const std::string path = (inbox / name).string();
    int found = urls.count("file://" + path) ? urls.at("file://" + path) : 0;
    std::string reason;
    for (const auto& letter : letters) {
      const std::string text = letter.dump();
      if (text.find(name) != std::string::npos) {
        ++found;
        reason = letter.value("reason", std::string());
      }
    }
    EXPECT_EQ(found, 1) << name << " is neither stored nor dead-lettered once";
    std::printf("bad input %-20s %s\n", name.c_str(), reason.empty() ? "stored" : ("dead-lettered: " + reason).c_str());
  }
  EXPECT_NE(log.find("file larger than max_bytes: " + (inbox / "huge.html").string()), std::string::npos);
  for (int n = 0; n < kLinkedPages; ++n) {
    EXPECT_EQ(urls.count(server.base_url() + "/page-" + std::to_string(n) + ".html"), 1u) << n;
  }
  EXPECT_NE(log.find("entity declarations are not allowed"), std::string::npos) << log;
}

}  // namespace
}  // namespace vnawire::testing
