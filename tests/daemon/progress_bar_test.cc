// The progress bar: its text, its rate and time left, and what it writes to a real pseudo-terminal and to a pipe.
#include "daemon/progress_bar.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace vnawire::daemon {
namespace {

using namespace std::chrono_literals;

TEST(ProgressBar, AmountsAndDurationsReadAsPeopleWriteThem) {
  EXPECT_EQ(progress_amount(999, ProgressUnit::Bytes), "999 B");
  EXPECT_EQ(progress_amount(1500, ProgressUnit::Bytes), "1.5 kB");
  EXPECT_EQ(progress_amount(312'040'000, ProgressUnit::Bytes), "312.0 MB");
  EXPECT_EQ(progress_amount(2'500'000'000, ProgressUnit::Bytes), "2.5 GB");
  EXPECT_EQ(progress_amount(1234, ProgressUnit::Documents), "1234");
  EXPECT_EQ(duration_text(24.4), "24s");
  EXPECT_EQ(duration_text(185), "3m05s");
  EXPECT_EQ(duration_text(7620), "2h07m");
  EXPECT_EQ(duration_text(-3), "0s");
}

TEST(ProgressBar, ALineHasTheShareTheAmountsTheRateAndTheTimeLeft) {
  EXPECT_EQ(render_progress("backfill", 45, 100, ProgressUnit::Documents, 5, 10),
            "backfill [####......]  45%  45/100  5.0 docs/s  ETA 11s");
  EXPECT_EQ(render_progress("backfill", 2'000'000, 8'000'000, ProgressUnit::Bytes, 500'000, 8),
            "backfill [##......]  25%  2.0 MB/8.0 MB  500.0 kB/s  ETA 12s");
  // No rate yet: no rate and no time left rather than a made-up one.
  EXPECT_EQ(render_progress("x", 0, 10, ProgressUnit::Documents, 0, 4), "x [....]   0%  0/10");
  // Done, or past the total (a file that grew): full, never more.
  EXPECT_EQ(render_progress("x", 12, 10, ProgressUnit::Documents, 1, 4), "x [####] 100%  12/10  1.0 docs/s  ETA 0s");
}

// One figure for the bar and the status line: whole percents rounded down, never past 100.
TEST(ProgressBar, ThePercentIsRoundedDownAndNeverPastAHundred) {
  EXPECT_EQ(progress_percent(29, 100), 29);  // 0.29 * 100 is 28.999... in floating point
  EXPECT_EQ(progress_percent(999, 1000), 99);
  EXPECT_EQ(progress_percent(1000, 1000), 100);
  EXPECT_EQ(progress_percent(1200, 1000), 100) << "a file that grew while it was read";
  EXPECT_EQ(progress_percent(5, 0), 0) << "no total known yet";
  EXPECT_EQ(progress_percent(std::uint64_t{1} << 50, std::uint64_t{1} << 51), 50);
}

TEST(ProgressBar, TheRateIsTakenOverTheLastTenSecondsAndStartsOverWhenTheCountGoesBack) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ProgressBar bar("x", ProgressUnit::Documents, fds[1]);
  const auto t0 = ProgressBar::Clock::now();
  bar.update(0, 1000, t0);
  EXPECT_EQ(bar.rate(), 0);  // one sample
  bar.update(100, 1000, t0 + 1s);
  EXPECT_DOUBLE_EQ(bar.rate(), 100);
  bar.update(150, 1000, t0 + 2s);
  EXPECT_DOUBLE_EQ(bar.rate(), 75);
  // Twenty seconds later at 10/s: the early fast second no longer counts.
  for (int s = 3; s <= 22; ++s)
    bar.update(150 + static_cast<std::uint64_t>(10 * (s - 2)), 1000, t0 + std::chrono::seconds(s));
  EXPECT_NEAR(bar.rate(), 10, 0.01);
  // A source restarted and counts from zero again: no negative rate.
  bar.update(5, 1000, t0 + 23s);
  EXPECT_EQ(bar.rate(), 0);
  bar.update(25, 1000, t0 + 24s);
  EXPECT_DOUBLE_EQ(bar.rate(), 20);
  bar.finish();
  ::close(fds[1]);
  // Off a terminal and without plain lines, nothing at all was written.
  char byte;
  EXPECT_EQ(::read(fds[0], &byte, 1), 0);
  ::close(fds[0]);
}

TEST(ProgressBar, OffATerminalItWritesAPlainLineNowAndThenAndASummary) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    ProgressBar bar("vnawire demo", ProgressUnit::Documents, fds[1], 5000);
    EXPECT_FALSE(bar.on_terminal());
    const auto t0 = ProgressBar::Clock::now();
    bar.update(1, 10, t0);
    bar.update(2, 10, t0 + 1s);  // too soon for another line
    bar.update(6, 10, t0 + 6s);
    bar.finish(t0 + 7s);
  }
  ::close(fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  const auto first = out.find("vnawire demo [");
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_NE(out.find("  60%  6/10  0.8 docs/s  ETA 5s\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("  20%"), std::string::npos) << out;
  EXPECT_NE(out.find("\nvnawire demo: 6 of 10 in "), std::string::npos) << out;
}

// What the bar wrote to a pseudo-terminal of `rows` x 80, read from its master side.
class OnATerminal : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* term = std::getenv("TERM");
    saved_term_ = term != nullptr ? term : "";
    had_term_ = term != nullptr;
    ::setenv("TERM", "xterm", 1);
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 80;
    ASSERT_EQ(::openpty(&master_, &slave_, nullptr, nullptr, &size), 0);
  }
  void TearDown() override {
    if (had_term_) {
      ::setenv("TERM", saved_term_.c_str(), 1);
    } else {
      ::unsetenv("TERM");
    }
    ::close(slave_);
    ::close(master_);
  }
  std::string drain() {
    std::string out;
    char buffer[4096];
    pollfd p{master_, POLLIN, 0};
    while (::poll(&p, 1, 100) > 0) {
      const ssize_t n = ::read(master_, buffer, sizeof buffer);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }
  void resize(int rows) {
    winsize size{};
    size.ws_row = static_cast<unsigned short>(rows);
    size.ws_col = 80;
    ASSERT_EQ(::ioctl(slave_, TIOCSWINSZ, &size), 0);
  }

  int master_ = -1, slave_ = -1;
  std::string saved_term_;
  bool had_term_ = false;
};

TEST_F(OnATerminal, TheBarKeepsToTheLastRowBelowAScrollRegionAndGivesItBack) {
  ProgressBar bar("backfill", ProgressUnit::Bytes, slave_);
  ASSERT_TRUE(bar.on_terminal());
  const auto t0 = ProgressBar::Clock::now();
  bar.update(0, 4'000'000, t0);
  std::string out = drain();
  // The last row is freed and scrolling confined to the 23 above it, the cursor kept where the text goes on.
  EXPECT_NE(out.find("\n\0337\x1b[1;23r\0338\x1b[1A"), std::string::npos) << out;
  // Drawn on row 24, cleared first, the cursor restored after.
  EXPECT_NE(out.find("\0337\x1b[24;1H\x1b[2Kbackfill [....................]   0%  0 B/4.0 MB\0338"), std::string::npos)
      << out;

  bar.update(1'000'000, 4'000'000, t0 + 2s);
  out = drain();
  EXPECT_NE(out.find("\x1b[24;1H\x1b[2Kbackfill [#####...............]  25%  1.0 MB/4.0 MB  500.0 kB/s  ETA 6s\0338"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("r\0338\x1b[1A"), std::string::npos) << "the region is set once: " << out;

  // The window shrank: the old last row is cleared and the region set again for the new height.
  resize(10);
  bar.update(2'000'000, 4'000'000, t0 + 4s);
  out = drain();
  EXPECT_NE(out.find("\x1b[r\x1b[24;1H\x1b[2K"), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[1;9r"), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[10;1H\x1b[2Kbackfill ["), std::string::npos) << out;

  bar.finish(t0 + 8s);
  out = drain();
  // Scrolling is the whole screen's again, the last row cleared, and the figures stay as a line of their own.
  EXPECT_NE(out.find("\0337\x1b[r\x1b[10;1H\x1b[2K\0338"), std::string::npos) << out;
  EXPECT_NE(out.find("backfill: 2.0 MB of 4.0 MB in 8s (250.0 kB/s)\r\n"), std::string::npos) << out;
  bar.update(3'000'000, 4'000'000, t0 + 9s);  // after finish: nothing more
  EXPECT_EQ(drain(), "");
}

TEST_F(OnATerminal, ALineNeverReachesTheLastColumn) {
  winsize size{};
  size.ws_row = 24;
  size.ws_col = 40;
  ASSERT_EQ(::ioctl(slave_, TIOCSWINSZ, &size), 0);
  ProgressBar bar("a rather long label for a narrow terminal", ProgressUnit::Bytes, slave_);
  bar.update(10, 100, ProgressBar::Clock::now());
  const std::string out = drain();
  const auto start = out.find("\x1b[24;1H\x1b[2K");
  ASSERT_NE(start, std::string::npos) << out;
  const auto end = out.find("\0338", start);
  ASSERT_NE(end, std::string::npos) << out;
  EXPECT_EQ(end - (start + 11), 39u) << out.substr(start);
}

TEST_F(OnATerminal, ADumbTerminalGetsNoBar) {
  ::setenv("TERM", "dumb", 1);
  ProgressBar bar("backfill", ProgressUnit::Bytes, slave_);
  EXPECT_FALSE(bar.on_terminal());
  bar.update(1, 2, ProgressBar::Clock::now());
  bar.finish();
  EXPECT_EQ(drain(), "");
}

}  // namespace
}  // namespace vnawire::daemon
