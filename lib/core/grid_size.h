// A grid of rows x cols cells (feature tokens, interpolation targets, output pixels). It lives in
// core because backbones (their feature grids) and the readout (its token grids) both speak it and
// neither may depend on the other.
#pragma once

#include <cstdint>
#include <string>

namespace lidere {

// Tokens are numbered row-major (token = row * cols + col).
struct GridSize {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t tokens() const { return rows * cols; }
  bool operator==(const GridSize&) const = default;
  std::string str() const { return std::to_string(rows) + "x" + std::to_string(cols); }
};

}  // namespace lidere
