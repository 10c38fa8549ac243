// The progress of long runs (the demo, WARC backfills): a bar with the share done, the rate and the time left.
//
// On a terminal the bar keeps to the terminal's last row, below a scroll region that holds everything else,
// so that the log lines of the daemon and of its stage processes (which share the terminal) scroll above it
// instead of breaking it: the way apt draws its progress while dpkg writes. Off a terminal it writes nothing
// unless asked for plain lines, for the daemon's status line carries the same figures.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>

namespace vnawire::daemon {

enum class ProgressUnit { Documents, Bytes };

// "312.0 MB", "1.5 GB", "800 B" (bytes, powers of 1000), or the number of documents.
std::string progress_amount(std::uint64_t n, ProgressUnit unit);

// One line: "<label> [######..........]  45%  120.3 MB/312.0 MB  8.1 MB/s  ETA 24s", or without the rate and
// time left when the rate is not known yet (rate <= 0). `width` is the bar's, in characters.
std::string render_progress(std::string_view label, std::uint64_t done, std::uint64_t total, ProgressUnit unit,
                            double rate_per_second, int width = 30);

// The whole percent of `total` that `done` is, at most 100 (0 when the total is not known): the bar's figure,
// and the status line's.
int progress_percent(std::uint64_t done, std::uint64_t total);

// "24s", "3m05s", "2h07m".
std::string duration_text(double seconds);

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;

  // `fd`: where to draw (stderr). `plain_lines_ms` > 0: off a terminal, one plain line that often.
  ProgressBar(std::string label, ProgressUnit unit, int fd, int plain_lines_ms = 0);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Whether a bar is drawn: `fd` is a terminal that can place the cursor (not TERM=dumb) with at least 3 rows.
  bool on_terminal() const { return terminal_; }
  // Draws `done` of `total`; the rate is taken over the last ten seconds. A `done` lower than before (a source
  // restarted and reports afresh) starts the rate over.
  void update(std::uint64_t done, std::uint64_t total, Clock::time_point now = Clock::now());
  // Rate over the recent samples, in units per second (0 until two samples span some time).
  double rate() const;
  // Gives the last row back to the terminal and leaves the final figures as an ordinary line.
  void finish(Clock::time_point now = Clock::now());

 private:
  void write_out(const std::string& bytes) const;
  void reserve_row(int rows);

  std::string label_;
  ProgressUnit unit_;
  int fd_;
  int plain_lines_ms_;
  bool terminal_ = false;
  int rows_ = 0;  // the terminal's height when the scroll region was set; 0 while none is
  bool finished_ = false;
  std::uint64_t done_ = 0, total_ = 0;
  Clock::time_point started_;
  Clock::time_point last_plain_{};
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
};

}  // namespace vnawire::daemon
