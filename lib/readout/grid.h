// Token grids and the fixed coordinate encodings of the official readout.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "core/grid_size.h"

namespace lidere::readout {

using lidere::GridSize;

// (rows*cols, 2) coordinates [x, y] = [column, row], each normalised to [0, 1] per axis with both
// ends included (torch.linspace(0, 1, n)), in token order.
torch::Tensor normalized_coordinates(GridSize grid, const torch::TensorOptions& options);

// (S, T, 4) pair features [dx, dy, dx^2, dy^2] with d = source - target: the input of the
// interpolation prior for every (source token, target token) pair.
torch::Tensor pair_offsets(GridSize source, GridSize target, const torch::TensorOptions& options);

// (rows*cols, 16) fixed sin/cos encoding of the integer token indices times `scale`:
// [sin(x f), cos(x f), sin(y f), cos(y f)] for f = 1, 0.1, 0.01, 0.001, x the column, y the row.
torch::Tensor sincos_encoding(GridSize grid, double scale, const torch::TensorOptions& options);

}  // namespace lidere::readout
