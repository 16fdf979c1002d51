// Fuzzes the safetensors header parser with random bytes and with random mutations of a valid
// file: every input must either parse into a layout whose offsets lie inside the file or be
// refused with an InputError, never crash or read out of bounds (run it under
// AddressSanitizer: scripts/asan.sh). Deterministic: a fixed seed.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/safetensors_format.h"

namespace st = lidere::safetensors;

namespace {

std::vector<unsigned char> valid_file() {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {1, 2};
  const std::vector<unsigned char> c = {1, 0, 1};
  return st::serialize({{"a", st::DType::kF64, {2, 3}, a.data(), a.size() * 8},
                        {"b", st::DType::kF32, {2}, b.data(), 8},
                        {"c", st::DType::kBool, {3}, c.data(), 3}},
                       {{"format", "test"}});
}

// Returns 0 when the input was handled (parsed consistently or refused cleanly).
int check(const std::vector<unsigned char>& bytes) {
  try {
    const st::Layout layout = st::parse_layout("fuzz", bytes.data(), bytes.size(), bytes.size());
    for (const auto& t : layout.tensors) {
      if (layout.data_start + t.end > bytes.size()) {
        std::fprintf(stderr, "accepted out-of-range tensor %s\n", t.name.c_str());
        return 1;
      }
    }
  } catch (const lidere::InputError&) {
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 10000;
  std::mt19937 rng(1234);
  const auto base = valid_file();
  int failures = check(base);
  for (int i = 0; i < iterations; ++i) {
    std::vector<unsigned char> bytes;
    if (i % 3 == 0) {  // random bytes, sometimes with a plausible length prefix
      bytes.resize(rng() % 256);
      for (auto& b : bytes) b = static_cast<unsigned char>(rng());
      if (bytes.size() >= 8 && i % 2) {
        const std::uint64_t n = rng() % (bytes.size() + 16);
        for (int k = 0; k < 8; ++k) bytes[k] = static_cast<unsigned char>(n >> (8 * k));
      }
    } else {  // mutations of a valid file: flipped bytes, truncation, digits changed
      bytes = base;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const std::size_t pos = rng() % bytes.size();
        switch (rng() % 3) {
          case 0: bytes[pos] = static_cast<unsigned char>(rng()); break;
          case 1: bytes.resize(pos); break;
          default: if (bytes[pos] >= '0' && bytes[pos] <= '9') bytes[pos] = static_cast<unsigned char>('0' + rng() % 10);
        }
        if (bytes.empty()) break;
      }
    }
    failures += check(bytes);
  }
  // The plain closing line understood by CI.
  std::printf("%d passed, %d failed\n", iterations + 1 - failures, failures);
  return failures == 0 ? 0 : 1;
}
