// Progress of long work: a one-line bar with rate and ETA on a terminal, a plain line every
// ten seconds otherwise (logs, CI), nothing with --quiet. Writes to stderr, so stdout stays
// free for --json summaries.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lidere {

enum class ProgressMode { kAuto, kBar, kLines, kQuiet };

// kAuto -> kBar when stderr is a terminal, kLines otherwise; other modes unchanged.
ProgressMode resolve_progress_mode(ProgressMode mode);

class Progress {
 public:
  // `done` = units already finished (a resumed run starts part-way).
  Progress(std::string label, std::int64_t total, ProgressMode mode, std::int64_t done = 0, std::string unit = "it");
  // `done` units finished now; `status` is shown after the rate (e.g. "loss 0.42").
  void update(std::int64_t done, const std::string& status = "");
  // Ends the bar's line (the final state stays visible).
  void finish(const std::string& status = "");

  // Formats seconds as m:ss or h:mm:ss.
  static std::string clock(double seconds);

 private:
  void draw(const std::string& status, bool final);

  using Clock = std::chrono::steady_clock;
  std::string label_, unit_;
  std::int64_t total_, start_done_, done_;
  ProgressMode mode_;
  Clock::time_point start_, last_draw_;
  bool finished_ = false;
};

}  // namespace lidere
