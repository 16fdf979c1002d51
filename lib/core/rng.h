// A small, fully specified random number generator (SplitMix64) for everything a training run
// draws: sample order, augmentation parameters. The standard library's distributions are
// implementation-defined, so they could change a run between compilers; these cannot. Streams
// are derived from (seed, purpose, indices), so the draws of a sample never depend on the order
// in which worker threads happen to run, and a resumed run draws what the uninterrupted one did.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace lidere {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  // A stream keyed by a seed and any number of integers (e.g. seed, epoch, sample index).
  Rng(std::uint64_t seed, std::initializer_list<std::uint64_t> keys) : state_(seed) {
    for (std::uint64_t key : keys) state_ = mix(state_ ^ mix(key + 0x9E3779B97F4A7C15ULL));
  }

  std::uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return mix(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  bool chance(double p) { return uniform() < p; }
  // Uniform integer in [0, n), n > 0, without modulo bias (draws below 2^64 mod n are rejected).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    std::uint64_t x = next();
    while (x < threshold) x = next();
    return x % n;
  }

  // A uniformly random order of 0 .. n-1 (Fisher-Yates).
  std::vector<std::int64_t> permutation(std::int64_t n) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
    for (std::int64_t i = n - 1; i > 0; --i) {
      std::swap(order[static_cast<std::size_t>(i)], order[below(static_cast<std::uint64_t>(i) + 1)]);
    }
    return order;
  }

 private:
  static std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

}  // namespace lidere
