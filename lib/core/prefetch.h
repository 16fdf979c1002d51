// Produces numbered items (batches) ahead of time on worker threads, so the training step never
// waits for decoding and augmentation. Items are requested in increasing order; each is computed
// by a deterministic function of its number, so the result does not depend on thread timing.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <utility>

namespace lidere {

template <typename Item>
class Prefetcher {
 public:
  using Make = std::function<Item(std::int64_t)>;
  // `depth`: how many items are computed in parallel ahead of the consumer (0: synchronous).
  Prefetcher(Make make, std::int64_t first, std::int64_t end, int depth)
      : make_(std::move(make)), next_(first), end_(end), depth_(depth) {
    fill();
  }
  ~Prefetcher() {
    for (auto& f : pending_) {
      if (f.valid()) f.wait();
    }
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The next item; rethrows a worker's exception (e.g. an unreadable image) here.
  Item next() {
    if (depth_ == 0) return make_(next_++);
    Item item = pending_.front().get();
    pending_.pop_front();
    fill();
    return item;
  }

 private:
  void fill() {
    while (depth_ > 0 && static_cast<int>(pending_.size()) < depth_ && next_ < end_) {
      pending_.push_back(std::async(std::launch::async, make_, next_++));
    }
  }
  Make make_;
  std::int64_t next_, end_;
  int depth_;
  std::deque<std::future<Item>> pending_;
};

}  // namespace lidere
