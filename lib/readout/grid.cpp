#include "readout/grid.h"

#include <cmath>

#include "ops/prior_mlp.h"

namespace lidere::readout {

torch::Tensor normalized_coordinates(GridSize grid, const torch::TensorOptions& options) {
  const torch::Tensor xs = torch::linspace(0, 1, grid.cols, options);
  const torch::Tensor ys = torch::linspace(0, 1, grid.rows, options);
  const auto mesh = torch::meshgrid({xs, ys}, "xy");  // each (rows, cols)
  return torch::stack({mesh[0], mesh[1]}, -1).reshape({grid.tokens(), 2});
}

torch::Tensor pair_offsets(GridSize source, GridSize target, const torch::TensorOptions& options) {
  return ops::pair_offsets(normalized_coordinates(source, options), normalized_coordinates(target, options));
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
