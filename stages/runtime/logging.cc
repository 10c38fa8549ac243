// Logger construction: stderr, or the journal with structured fields when stderr is connected to journald.
#include "stages/runtime/logging.h"

#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace vnawire::runtime {
namespace {

// systemd sets JOURNAL_STREAM to the device and inode of the stream it connected to stdout/stderr; a child
// whose stderr was redirected elsewhere may still inherit the variable, so it must match our own stderr.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat info {};
  if (::fstat(STDERR_FILENO, &info) != 0) return false;
  return static_cast<unsigned long long>(info.st_dev) == device &&
         static_cast<unsigned long long>(info.st_ino) == inode;
}

// One journal entry per log line, with the syslog priority and the stage and replica as fields of their own,
// so `journalctl -u vnawire STAGE=extract -p warning` selects them.
class JournalSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(const std::string& logger_name) : fields_(journal_fields(logger_name)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    const int length = static_cast<int>(message.payload.size());
    const int priority = journal_priority(message.level);
    if (fields_.stage.empty()) {
      sd_journal_send("MESSAGE=[%s] %.*s", fields_.component.c_str(), length, message.payload.data(), "PRIORITY=%d",
                      priority, "SYSLOG_IDENTIFIER=vnawire", nullptr);
    } else {
      sd_journal_send("MESSAGE=[%s] %.*s", fields_.component.c_str(), length, message.payload.data(), "PRIORITY=%d",
                      priority, "SYSLOG_IDENTIFIER=vnawire", "STAGE=%s", fields_.stage.c_str(), "INSTANCE=%s",
                      fields_.instance.c_str(), nullptr);
    }
  }
  void flush_() override {}

 private:
  JournalFields fields_;
};

}  // namespace

JournalFields journal_fields(const std::string& logger_name) {
  JournalFields fields;
  fields.component = logger_name;
  // Stage processes log as "<stage>#<replica>"; the daemon and the tools under their own names.
  if (const auto hash = logger_name.rfind('#'); hash != std::string::npos) {
    fields.stage = logger_name.substr(0, hash);
    fields.instance = logger_name.substr(hash + 1);
  }
  return fields;
}

int journal_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;
  }
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (stderr_is_journal()) {
    logger = std::make_shared<spdlog::logger>(name, std::make_shared<JournalSink>(name));
  } else {
    // journald adds its own timestamps under systemd, so keep ours short.
    logger = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  return logger;
}

}  // namespace vnawire::runtime
