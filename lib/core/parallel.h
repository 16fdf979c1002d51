// A small parallel loop for independent work items (images to score, files to check): each
// worker thread takes the next index until none is left. The first exception stops the remaining
// work and is rethrown in the caller, so errors name their file exactly as on one thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lidere {

// Runs work(i) for every i in [0, count) on `workers` threads (0: one per core). on_done(n), if
// given, is called (serialised) after each item with the number finished so far, e.g. for progress.
inline void parallel_for(std::size_t count, int workers, const std::function<void(std::size_t)>& work,
                         const std::function<void(std::size_t)>& on_done = {}) {
  if (workers <= 0) workers = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  workers = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(workers), std::max<std::size_t>(count, 1)));
  std::atomic<std::size_t> next{0};
  std::size_t done = 0;
  std::exception_ptr failure;
  std::mutex mutex;
  const auto run = [&] {
    for (std::size_t i; (i = next++) < count;) {
      try {
        work(i);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
        next = count;
        return;
      }
      const std::lock_guard<std::mutex> lock(mutex);
      ++done;
      if (on_done && !failure) on_done(done);
    }
  };
  if (workers == 1) {
    run();
  } else {
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) threads.emplace_back(run);
    for (auto& t : threads) t.join();
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace lidere
