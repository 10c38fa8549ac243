// Integration harness: fork/exec of the real binary, file polling, and generated dispatches.
#include "tests/integration/harness.h"

#include <algorithm>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vnawire::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
namespace {

// In a sanitized build (scripts/test-sanitized), every vnawire process a test starts, directly or through the
// supervisor, writes its sanitizer reports into a folder of the test's own; a report fails the test. Without it, a
// stage process's report would only make the supervisor restart that stage and the run could still pass.
class SanitizerReports : public ::testing::Environment {
 public:
  void SetUp() override {
    char pattern[] = "/tmp/vnawire-sanitizer-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    // Read by the children at their start only: this process keeps reporting on its stderr.
    for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"}) {
      const char* options = std::getenv(name);
      std::string value = options != nullptr && *options != '\0' ? std::string(options) + ":" : "";
      ::setenv(name, (value + "log_path=" + (dir_ / "report").string()).c_str(), 1);
    }
  }
  void TearDown() override {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      ADD_FAILURE() << "a child process's sanitizer report, " << entry.path().filename().string() << ":\n"
                    << read_file(entry.path());
    }
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  std::filesystem::path dir_;
};

[[maybe_unused]] ::testing::Environment* const sanitizer_reports =
    ::testing::AddGlobalTestEnvironment(new SanitizerReports);

}  // namespace
#endif

TempDir::TempDir() {
  char pattern[] = "/tmp/vnawire-test-XXXXXX";
  path_ = ::mkdtemp(pattern);
}

TempDir::~TempDir() {
  if (std::getenv("VNAWIRE_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Process::Process(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
                 const std::string& stdin_text) {
  static int counter = 0;
  const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(++counter);
  out_ = log_dir / ("stdout-" + tag + ".log");
  err_ = log_dir / ("stderr-" + tag + ".log");
  const auto in_path = log_dir / ("stdin-" + tag + ".txt");
  write_file(in_path, stdin_text);
  std::vector<std::string> argv_storage = args;
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    int in = ::open(in_path.c_str(), O_RDONLY);
    int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // Daemons run side by side under ctest -j: each serves its metrics on a port of its own unless the test
    // (or its config file) chose one.
    ::setenv("VNAWIRE_METRICS_ADDRESS", "127.0.0.1:0", 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void Process::signal(int signal) const {
  if (pid_ > 0) ::kill(pid_, signal);
}

int Process::wait(std::chrono::milliseconds timeout) {
  if (status_ >= 0) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  status_ = 999;
  return -1;
}

bool Process::still_running_after(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (status_ >= 0) return false;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string Process::output() const { return read_file(out_); }
std::string Process::errors() const { return read_file(err_); }

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

::testing::AssertionResult wait_for_log(const Process& process, const std::string& needle,
                                        std::chrono::milliseconds timeout) {
  if (wait_until([&] { return process.errors().find(needle) != std::string::npos; }, timeout)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no '" << needle << "' in:\n" << process.errors();
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::size_t count_lines(const std::filesystem::path& path) { return read_lines(path).size(); }

std::string whole_pipeline_yaml(const TempDir& dir, const std::string& fetch_extra, const std::string& pipeline_extra) {
  return "pipeline:\n  state_dir: " + dir.path().string() + "/state\n  flush_interval_ms: 100\n  heartbeat_ms: 200\n" +
         pipeline_extra +
         "stages:\n"
         "  - name: fetch\n    type: fetch\n    options: {directory: " +
         dir.path().string() + "/inbox, poll_interval_ms: 100, settle_ms: 50" + fetch_extra +
         "}\n"
         "  - name: dedupe\n    type: dedupe\n    inputs: [fetch]\n"
         "  - name: langid\n    type: langid\n    inputs: [dedupe]\n"
         "  - name: extract\n    type: extract\n    replicas: 2\n    inputs: [langid]\n"
         "  - name: out\n    type: sink_jsonl\n    inputs: [extract]\n    options: {path: out.jsonl}\n";
}

int count_files(const std::filesystem::path& dir, const std::string& extension) {
  std::error_code ec;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) files += entry.path().extension() == extension;
  return files;
}

std::vector<pid_t> processes_with(const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    for (auto& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

std::string describe_processes(const std::vector<pid_t>& pids) {
  std::string out;
  for (pid_t pid : pids) {
    const std::filesystem::path proc = "/proc/" + std::to_string(pid);
    const std::string stat = read_file(proc / "stat");
    const auto state_at = stat.rfind(')');  // the command name in parentheses may hold spaces
    const char state = state_at != std::string::npos && state_at + 2 < stat.size() ? stat[state_at + 2] : '?';
    std::string cmdline = read_file(proc / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    out += std::to_string(pid) + " " + state + " wchan=" + read_file(proc / "wchan") + " " + cmdline + "\n";
  }
  return out;
}

std::string generated_dispatch(int n) {
  static const char* kPlaces[] = {"Hanoï", "Hô Chi Minh-Ville", "Da Nang", "Hai Phong", "Can Tho", "Hue"};
  static const char* kTopics[] = {"l'énergie solaire",
                                  "la pêche durable",
                                  "le riz parfumé",
                                  "les ports fluviaux",
                                  "la formation des enseignants",
                                  "le tourisme vert",
                                  "les vaccins",
                                  "les chemins de fer"};
  static const char* kVerbs[] = {"ont examiné", "ont discuté", "ont passé en revue", "ont salué"};
  std::mt19937 random(static_cast<unsigned>(n) * 7919u + 13u);
  const char* place = kPlaces[n % 6];
  const char* topic = kTopics[(n / 6) % 8];
  std::ostringstream text;
  text << "Réunion numéro " << n << " sur " << topic << " à " << place << "\n\n"
       << "Les délégués de " << (n % 40 + 2) << " provinces " << kVerbs[n % 4] << " le bilan de " << topic
       << " pour l'année " << (2000 + n % 25) << ".\n\n"
       << place << " (VNA) – Les délégués de " << (n % 40 + 2) << " provinces " << kVerbs[n % 4] << " le bilan de "
       << topic << " pour l'année " << (2000 + n % 25) << ".\n\n";
  for (int p = 0; p < 3; ++p) {
    text << "Le rapport " << n << "-" << p << " indique une hausse de " << (random() % 90 + 5) << " % des "
         << "investissements, selon le comité de suivi, qui prévoit " << (random() % 12 + 1)
         << " nouveaux projets d'ici la fin de l'exercice.\n\n";
  }
  text << "Les participants se retrouveront le mois prochain. -VNA";
  return text.str();
}

void write_inbox(const TempDir& dir, int from, int to) {
  for (int n = from; n < to; ++n) {
    char name[32];
    std::snprintf(name, sizeof name, "doc-%04d.txt", n);
    write_file(dir / "inbox" / name, generated_dispatch(n));
  }
}

std::map<std::string, int> stored_urls(const std::filesystem::path& sink) {
  std::map<std::string, int> urls;
  for (const auto& line : read_lines(sink)) {
    // Read while the sink writes: its last line may be half written (a 1 MB record is several writes). Such a
    // line is not counted; once the sink has stopped, a line that still does not parse is a missing document.
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("url") || !record["url"].is_string()) continue;
    urls[record["url"].get<std::string>()]++;
  }
  return urls;
}

int free_port_range(int count) {
  // Below the kernel's ephemeral range: a port free now could otherwise become the local end of any connection
  // (the pipeline's own stages connect to each other) before the stage that is to bind it starts.
  int ephemeral_low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> ephemeral_low;
  const int low = 10000;
  const int span = std::max(ephemeral_low - count - low, 1000);
  std::mt19937 random(static_cast<unsigned>(::getpid()));
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int base = low + static_cast<int>(random() % static_cast<unsigned>(span));
    bool ok = true;
    for (int p = base; p < base + count && ok; ++p) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<std::uint16_t>(p));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      ::close(fd);
    }
    if (ok) return base;
  }
  return -1;
}

std::string start_replay(Process& replay) {
  std::string url;
  wait_until(
      [&] {
        std::smatch match;
        const std::string out = replay.output();
        if (std::regex_search(out, match, std::regex("at (http://127\\.0\\.0\\.1:[0-9]+)/"))) url = match[1];
        return !url.empty();
      },
      std::chrono::seconds(60));
  return url;
}

void StaticServer::put(const std::string& path, Page page) {
  const std::lock_guard lock(mutex_);
  pages_[path] = std::move(page);
}

StaticServer::StaticServer() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return;
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

StaticServer::~StaticServer() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(listener_);
}

void StaticServer::serve() {
  while (!stopping_) {
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<std::size_t>(n));
    }
    const std::size_t start = request.find(' ') + 1;
    const std::string path = request.substr(start, request.find(' ', start) - start);
    std::string status = "404 Not Found", body = "not here\n", type = "text/plain";
    {
      const std::lock_guard lock(mutex_);
      if (const auto page = pages_.find(path); page != pages_.end()) {
        status = "200 OK";
        body = page->second.body;
        type = page->second.content_type;
      }
    }
    std::string reply = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    reply += body;
    for (std::size_t sent = 0; sent < reply.size();) {
      const ssize_t n = ::send(client, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    ::close(client);
  }
}

}  // namespace vnawire::testing
