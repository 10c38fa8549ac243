// The `exec` stage. In `zmq` mode the user's program is the stage process itself: the daemon runs it in place
// of `vnawire stage`, with the endpoints in its environment, and it speaks the wire protocol (docs/protocol.md;
// the C++ SDK in sdk/ does it for a program). What follows is the `jsonl` mode, where a program that
// knows nothing of ZeroMQ is a sink, bridged by this stage. Each record
// goes to the program's stdin as one JSON line; the program answers one line per record on stdout,
// `ok <id>` once it has stored it, or `error <id> <reason>` when it never will (dead-lettered with the
// reason). A program that dies, closes its stdout, answers something else or takes longer than
// answer_timeout_ms is killed and started again, and the record is retried: the program must take the
// same record twice (store by id). Its stderr goes to the stage's own.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include "stages/runtime/codec.h"
#include "stages/sink/sink_stages.h"

namespace vnawire::sink {
namespace {

using runtime::OptionSpec;
using runtime::OptionType;

class ExecSink final : public runtime::Stage {
 public:
  explicit ExecSink(const runtime::StageContext& context) : context_(context) {}
  ~ExecSink() override { stop_program(); }

  runtime::Status start() override {
    if (context_.options->get_string("mode") == "zmq") {
      return runtime::Status::error("in zmq mode the daemon runs the program itself, not a vnawire stage process");
    }
    command_ = context_.options->get_list("command");
    if (command_.empty()) return runtime::Status::error("command: give the program and its arguments");
    timeout_ = std::chrono::milliseconds(context_.options->get_int("answer_timeout_ms"));
    stop_timeout_ = std::chrono::milliseconds(context_.options->get_int("stop_timeout_ms"));
    ::signal(SIGPIPE, SIG_IGN);  // a dead program shows as EPIPE on write, not as this process's death
    return start_program();
  }

  runtime::Verdict on_message(runtime::Document& document) override {
    if (pid_ <= 0) {
      if (runtime::Status status = start_program(); !status.ok()) return runtime::Verdict::retry(status.message());
    }
    std::string line = runtime::record_text(document);
    line.push_back('\n');
    std::string answer;
    if (!write_all(line) || !read_line(answer)) {
      const std::string why = "the program " + command_[0] + " " + failure_;
      restart_program();
      return runtime::Verdict::retry(why);
    }
    const std::string& id = document.header.id;
    if (answer == "ok " + id) {
      context_.counters->add("stored");
      return runtime::Verdict::forward();
    }
    if (answer.starts_with("error " + id)) {
      std::string reason = answer.substr(6 + id.size());
      if (!reason.empty() && reason.front() == ' ') reason.erase(0, 1);
      context_.counters->add("refused");
      return runtime::Verdict::dead_letter("the program refused it: " + (reason.empty() ? "no reason" : reason));
    }
    const std::string why = "the program answered \"" + answer.substr(0, 200) + "\" to " + id;
    restart_program();
    return runtime::Verdict::retry(why);
  }

  void stop() override { stop_program(); }

 private:
  const runtime::StageContext& context_;
  std::vector<std::string> command_;
  std::chrono::milliseconds timeout_{30000};
  std::chrono::milliseconds stop_timeout_{5000};
  pid_t pid_ = -1;
  int to_program_ = -1;    // its stdin
  int from_program_ = -1;  // its stdout
  std::string pending_;    // read past the last answer line
  std::string failure_;

  runtime::Status start_program() {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return runtime::Status::error(std::string("pipe: ") + std::strerror(errno));
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return runtime::Status::error(std::string("pipe: ") + std::strerror(errno));
    }
    std::vector<char*> argv;
    for (std::string& arg : command_) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execvp(argv[0], argv.data());
      const std::string message = "vnawire exec: cannot execute " + command_[0] + ": " + std::strerror(errno) + "\n";
      (void)!::write(2, message.data(), message.size());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    if (pid < 0) {
      ::close(in[1]);
      ::close(out[0]);
      return runtime::Status::error(std::string("fork: ") + std::strerror(errno));
    }
    pid_ = pid;
    to_program_ = in[1];
    from_program_ = out[0];
    pending_.clear();
    context_.counters->add("program_started");
    return {};
  }

  // Closes the program's input (a well-behaved program finishes and exits), then SIGTERM, then SIGKILL.
  void stop_program() {
    if (pid_ <= 0) return;
    ::close(to_program_);
    ::close(from_program_);
    int status = 0;
    const auto exited_within = [&](std::chrono::milliseconds wait) {
      const auto deadline = std::chrono::steady_clock::now() + wait;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        ::usleep(5000);
      }
      return true;
    };
    if (!exited_within(stop_timeout_)) {
      ::kill(pid_, SIGTERM);
      if (!exited_within(std::chrono::seconds(1))) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
    }
    pid_ = -1;
  }

  void restart_program() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);  // it failed: no time to finish
    stop_program();
    context_.counters->add("program_restarted");
    (void)start_program();  // a failure is met again by the next record
  }

  bool write_all(const std::string& text) {
    for (std::size_t at = 0; at < text.size();) {
      const ssize_t n = ::write(to_program_, text.data() + at, text.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failure_ = std::string("stopped reading its input: ") + std::strerror(errno);
        return false;
      }
      at += static_cast<std::size_t>(n);
    }
    return true;
  }

  bool read_line(std::string& line) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      if (const auto end = pending_.find('\n'); end != std::string::npos) {
        line = pending_.substr(0, end);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pending_.erase(0, end + 1);
        return true;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      pollfd readable{from_program_, POLLIN, 0};
      if (left <= 0 || ::poll(&readable, 1, static_cast<int>(left)) == 0) {
        failure_ = "gave no answer within answer_timeout_ms";
        return false;
      }
      char buffer[4096];
      const ssize_t n = ::read(from_program_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failure_ = "closed its output (it exited?)";
        return false;
      }
      pending_.append(buffer, static_cast<std::size_t>(n));
    }
  }
};

// VNAWIRE_INPUTS separates endpoints by spaces: in zmq mode none may hold one (ipc paths under run_dir).
std::vector<runtime::OptionProblem> check_endpoints_fit_a_list(const runtime::Options& options,
                                                               const runtime::Options& pipeline) {
  if (options.get_string("mode") != "zmq") return {};
  for (const char* folder : {"state_dir", "run_dir"}) {
    if (pipeline.get_string(folder).find_first_of(" \t\n") != std::string::npos) {
      return {{"mode", std::string("zmq mode passes endpoints separated by spaces: the pipeline's ") + folder +
                           " must not hold whitespace"}};
    }
  }
  return {};
}

}  // namespace

const runtime::StageDescriptor& exec_descriptor() {
  static const runtime::StageDescriptor descriptor{
      "exec",
      "Sink: a program of yours; in jsonl mode each record is a JSON line on its stdin, answered by \"ok <id>\" "
      "or \"error <id> <reason>\" on its stdout; in zmq mode the program is the stage process and speaks the wire "
      "protocol, with its endpoints in its environment (docs/protocol.md).",
      runtime::StageRole::Sink,
      16,
      {
          OptionSpec{"command", OptionType::StringList, {}, "The program and its arguments (found on PATH).", true},
          OptionSpec{"mode",
                     OptionType::String,
                     std::string("jsonl"),
                     "How records reach the program: jsonl, JSON lines on its stdin acknowledged on its stdout; zmq, "
                     "the program is the stage process, run by the daemon with its endpoints in VNAWIRE_* "
                     "environment variables.",
                     false,
                     std::nullopt,
                     std::nullopt,
                     {"jsonl", "zmq"}},
          OptionSpec{"acknowledges", OptionType::Bool, false,
                     "zmq mode: the program speaks protocol version 2 and sends ACK for what it stored (the C++ SDK "
                     "does); otherwise it gets version 1 messages and the stage before it acknowledges each one once "
                     "the program's socket took it."},
          OptionSpec{
              "answer_timeout_ms", OptionType::Int, std::int64_t{30000},
              "jsonl mode: longest the program may take to answer a record before it is restarted and the record "
              "retried.",
              false, 10.0, 3600000.0},
          OptionSpec{"stop_timeout_ms", OptionType::Int, std::int64_t{5000},
                     "jsonl mode: at stop, how long the program may take to exit once its input is closed (then "
                     "SIGTERM, then SIGKILL a second later).",
                     false, 0.0, 600000.0},
      },
      [](const runtime::StageContext& context) { return std::make_unique<ExecSink>(context); },
      check_endpoints_fit_a_list,
      [](const runtime::Options& options) {
        return options.get_string("mode") == "zmq" ? options.get_list("command") : std::vector<std::string>{};
      },
      [](const runtime::Options& options) {
        return options.get_string("mode") != "zmq" || options.get_bool("acknowledges");
      },
  };
  return descriptor;
}

}  // namespace vnawire::sink
