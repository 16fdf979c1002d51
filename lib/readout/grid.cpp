#include "readout/grid.h"

#include <cmath>

#include <fmt/format.h>

namespace lidere::readout {

std::string GridSize::str() const { return fmt::format("{}x{}", rows, cols); }

torch::Tensor normalized_coordinates(GridSize grid, const torch::TensorOptions& options) {
  const torch::Tensor xs = torch::linspace(0, 1, grid.cols, options);
  const torch::Tensor ys = torch::linspace(0, 1, grid.rows, options);
  const auto mesh = torch::meshgrid({xs, ys}, "xy");  // each (rows, cols)
  return torch::stack({mesh[0], mesh[1]}, -1).reshape({grid.tokens(), 2});
}

torch::Tensor pair_offsets(GridSize source, GridSize target, const torch::TensorOptions& options) {
  const torch::Tensor src = normalized_coordinates(source, options);
  const torch::Tensor tgt = normalized_coordinates(target, options);
  const torch::Tensor diff = src.unsqueeze(1) - tgt.unsqueeze(0);  // (S, T, 2)
  return torch::cat({diff, diff.pow(2)}, 2);
}

torch::Tensor sincos_encoding(GridSize grid, double scale, const torch::TensorOptions& options) {
  // Frequencies exp(-ln(1e4) * {0, 2, 4, 6} / 8), computed the way the official code does, so
  // the float32 values agree bit for bit.
  const torch::Tensor freqs =
      torch::exp(torch::arange(0, 8, 2, options) * (-std::log(10000.0) / 8.0));
  const torch::Tensor cols = torch::arange(grid.cols, options) * scale;
  const torch::Tensor rows = torch::arange(grid.rows, options) * scale;
  const auto mesh = torch::meshgrid({cols, rows}, "xy");  // each (rows, cols)
  auto encode = [&](const torch::Tensor& pos) {
    const torch::Tensor angle = pos.reshape({-1, 1}) * freqs.unsqueeze(0);
    return torch::cat({torch::sin(angle), torch::cos(angle)}, 1);  // (N, 8)
  };
  return torch::cat({encode(mesh[0]), encode(mesh[1])}, 1);
}

}  // namespace lidere::readout
