#include "core/progress.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace lidere {

ProgressMode resolve_progress_mode(ProgressMode mode) {
  if (mode != ProgressMode::kAuto) return mode;
  return ::isatty(STDERR_FILENO) ? ProgressMode::kBar : ProgressMode::kLines;
}

Progress::Progress(std::string label, std::int64_t total, ProgressMode mode, std::int64_t done, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      start_done_(done),
      done_(done),
      mode_(resolve_progress_mode(mode)),
      start_(Clock::now()),
      last_draw_(Clock::now()) {}

std::string Progress::clock(double seconds) {
  const auto s = static_cast<long long>(std::max(0.0, seconds) + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

void Progress::update(std::int64_t done, const std::string& status) {
  done_ = done;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  // A bar redraws at most 10 times a second; plain lines every 10 s.
  if ((mode_ == ProgressMode::kBar && since >= 0.1) || (mode_ == ProgressMode::kLines && since >= 10.0)) {
    draw(status, false);
    last_draw_ = now;
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  draw(status, true);
}

void Progress::draw(const std::string& status, bool final) {
  if (mode_ == ProgressMode::kQuiet) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_ - start_done_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
  const int percent = total_ > 0 ? static_cast<int>(100 * done_ / total_) : 100;
  const std::string rate_text = rate >= 1.0 || rate == 0.0 ? fmt::format("{:.2f} {}/s", rate, unit_)
                                                           : fmt::format("{:.2f} s/{}", 1.0 / rate, unit_);
  const std::string timing = final ? fmt::format("{} elapsed", clock(elapsed)) : fmt::format("ETA {}", clock(eta));
  const std::string tail = status.empty() ? "" : ", " + status;
  if (mode_ == ProgressMode::kBar) {
    constexpr int kWidth = 24;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : kWidth;
    fmt::print(stderr, "\r\033[K{} {:>3}% |{}{}| {}/{} [{}, {}{}]{}", label_, percent, std::string(filled, '#'),
               std::string(kWidth - filled, ' '), done_, total_, rate_text, timing, tail, final ? "\n" : "");
  } else {
    fmt::print(stderr, "{} {}/{} ({}%) {}, {}{}\n", label_, done_, total_, percent, rate_text, timing, tail);
  }
  std::fflush(stderr);
}

}  // namespace lidere
