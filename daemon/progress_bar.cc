// The progress bar of long runs; see progress_bar.h for where it is drawn and why.
#include "daemon/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace vnawire::daemon {
namespace {

constexpr auto kRateWindow = std::chrono::seconds(10);

// The terminal's rows and columns, {0, 0} when `fd` is none.
std::pair<int, int> terminal_size(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0) return {0, 0};
  return {size.ws_row, size.ws_col};
}

}  // namespace

std::string progress_amount(std::uint64_t n, ProgressUnit unit) {
  if (unit == ProgressUnit::Documents) return std::to_string(n);
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  if (n < 1000) return fmt::format("{} B", n);
  double value = static_cast<double>(n);
  std::size_t i = 0;
  while (value >= 1000 && i + 1 < std::size(kUnits)) {
    value /= 1000;
    ++i;
  }
  return fmt::format("{:.1f} {}", value, kUnits[i]);
}

std::string duration_text(double seconds) {
  const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

int progress_percent(std::uint64_t done, std::uint64_t total) {
  if (total == 0) return 0;
  if (done >= total) return 100;
  return static_cast<int>(done * 100 / total);
}

std::string render_progress(std::string_view label, std::uint64_t done, std::uint64_t total, ProgressUnit unit,
                            double rate_per_second, int width) {
  const double part = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0.0;
  const int filled = static_cast<int>(part * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(width - filled), '.');
  std::string line = fmt::format("{} [{}] {:3}%  {}/{}", label, bar, progress_percent(done, total),
                                 progress_amount(done, unit), progress_amount(total, unit));
  if (rate_per_second > 0) {
    const std::string rate = unit == ProgressUnit::Bytes
                                 ? progress_amount(static_cast<std::uint64_t>(rate_per_second), unit) + "/s"
                                 : fmt::format("{:.1f} docs/s", rate_per_second);
    const std::string eta = done >= total ? "0s" : duration_text(static_cast<double>(total - done) / rate_per_second);
    line += fmt::format("  {}  ETA {}", rate, eta);
  }
  return line;
}

ProgressBar::ProgressBar(std::string label, ProgressUnit unit, int fd, int plain_lines_ms)
    : label_(std::move(label)), unit_(unit), fd_(fd), plain_lines_ms_(plain_lines_ms), started_(Clock::now()) {
  const char* term = std::getenv("TERM");
  terminal_ =
      ::isatty(fd_) != 0 && term != nullptr && std::string_view(term) != "dumb" && terminal_size(fd_).first >= 3;
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::write_out(const std::string& bytes) const {
  // One write, so that the terminal does not interleave a stage's log line into the escape sequences.
  std::size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    at += static_cast<std::size_t>(n);
  }
}

// Frees the last row and confines scrolling to the rows above it; the cursor stays where the text goes on.
void ProgressBar::reserve_row(int rows) {
  rows_ = rows;
  write_out(fmt::format("\n\0337\x1b[1;{}r\0338\x1b[1A", rows - 1));
}

double ProgressBar::rate() const {
  if (samples_.size() < 2) return 0;
  const double span = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
  if (span < 0.5) return 0;
  return static_cast<double>(samples_.back().second - samples_.front().second) / span;
}

void ProgressBar::update(std::uint64_t done, std::uint64_t total, Clock::time_point now) {
  if (finished_) return;
  if (done < done_) samples_.clear();
  done_ = done;
  total_ = total;
  samples_.emplace_back(now, done);
  while (samples_.size() > 2 && now - samples_[1].first >= kRateWindow) samples_.pop_front();
  if (!terminal_) {
    if (plain_lines_ms_ <= 0 || now - last_plain_ < std::chrono::milliseconds(plain_lines_ms_)) return;
    last_plain_ = now;
    write_out(render_progress(label_, done, total, unit_, rate(), 20) + "\n");
    return;
  }
  const auto [rows, columns] = terminal_size(fd_);
  if (rows < 3 || columns < 20) return;
  if (rows != rows_) {
    if (rows_ != 0) write_out(fmt::format("\0337\x1b[r\x1b[{};1H\x1b[2K\0338", rows_));  // the old last row
    reserve_row(rows);
  }
  std::string line = render_progress(label_, done, total, unit_, rate(), std::clamp(columns / 4, 10, 30));
  // Never as wide as the screen: a line that wrapped on the last row would scroll the region away.
  if (static_cast<int>(line.size()) >= columns) line.resize(static_cast<std::size_t>(columns - 1));
  write_out(fmt::format("\0337\x1b[{};1H\x1b[2K{}\0338", rows, line));
}

void ProgressBar::finish(Clock::time_point now) {
  if (finished_) return;
  finished_ = true;
  if (rows_ != 0) write_out(fmt::format("\0337\x1b[r\x1b[{};1H\x1b[2K\0338", rows_));
  rows_ = 0;
  if (total_ == 0 || (!terminal_ && plain_lines_ms_ <= 0)) return;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  std::string line = fmt::format("{}: {} of {} in {}", label_, progress_amount(done_, unit_),
                                 progress_amount(total_, unit_), duration_text(seconds));
  if (seconds > 0) {
    const double rate = static_cast<double>(done_) / seconds;
    line += unit_ == ProgressUnit::Bytes
                ? fmt::format(" ({}/s)", progress_amount(static_cast<std::uint64_t>(rate), unit_))
                : fmt::format(" ({:.1f} docs/s)", rate);
  }
  write_out(line + "\n");
}

}  // namespace vnawire::daemon
