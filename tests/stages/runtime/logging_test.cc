// The logger's two faces: stderr lines as before, or journal entries once stderr is systemd's journal stream.
#include "stages/runtime/logging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace vnawire::runtime {
namespace {

TEST(Logging, AStageReplicasLoggerNamesItsStageAndInstanceForTheJournal) {
  const JournalFields replica = journal_fields("extract#1");
  EXPECT_EQ(replica.stage, "extract");
  EXPECT_EQ(replica.instance, "1");
  const JournalFields daemon = journal_fields("daemon");
  EXPECT_EQ(daemon.component, "daemon");
  EXPECT_TRUE(daemon.stage.empty());
  EXPECT_EQ(journal_priority(spdlog::level::err), 3);
  EXPECT_EQ(journal_priority(spdlog::level::warn), 4);
  EXPECT_EQ(journal_priority(spdlog::level::info), 6);
  EXPECT_EQ(journal_priority(spdlog::level::debug), 7);
}

bool writes_to_stderr(const std::shared_ptr<spdlog::logger>& logger) {
  return std::dynamic_pointer_cast<spdlog::sinks::stderr_sink_mt>(logger->sinks().at(0)) != nullptr;
}

// JOURNAL_STREAM names the stream systemd connected; only when it is our stderr do entries go to the journal.
TEST(Logging, TheJournalIsUsedOnlyWhenJournalStreamNamesThisProcesssStderr) {
  const auto path = std::filesystem::temp_directory_path() / ("vnawire-logging-" + std::to_string(::getpid()));
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(file, 0);
  struct stat info {};
  ASSERT_EQ(::fstat(file, &info), 0);
  const std::string names_file = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);

  EXPECT_TRUE(writes_to_stderr(make_logger("daemon", "info")));
  ::setenv("JOURNAL_STREAM", names_file.c_str(), 1);
  EXPECT_TRUE(writes_to_stderr(make_logger("daemon", "info"))) << "stderr is not that file";
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  const bool journal = !writes_to_stderr(make_logger("extract#0", "info"));
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::unsetenv("JOURNAL_STREAM");
  ::close(file);
  std::filesystem::remove(path);
  EXPECT_TRUE(journal);
}

}  // namespace
}  // namespace vnawire::runtime
