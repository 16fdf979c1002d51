// Tiled inference for images of any size (the official process_tensor in
// lidere/tasks/semantic_boundary.py), the tiling hook of the prediction loop for tasks whose
// Task::tiling() asks for it: the image is zero-padded at the bottom and right to a multiple of the
// tile size, cut into square tiles `overlap` pixels apart from each other's ends (step = size -
// overlap), each tile predicted (the model resizes it to its input size and the results come back
// at tile size), and every dense result averaged where tiles overlap.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "tasks/task.h"

namespace lidere::inference {

// Tile origins along an axis of `length` pixels: 0, step, 2 step, ... while a tile fits in the
// padded length (as torch's unfold in the official code), plus one tile ending at the padded
// edge when those leave image pixels uncovered (the official code would divide by zero there).
// Throws UsageError for tiles that are not positive or an overlap not in [0, size).
std::vector<std::int64_t> tile_origins(std::int64_t length, const tasks::Tiling& tiles);

// Results of an image (3, H, W), each (C, H, W): `predict` maps a batch of tiles (N, 3, S, S) to
// results (N, C, S, S) by name; at most `batch` tiles are passed at once.
tasks::Outputs predict_tiled(const torch::Tensor& image, const tasks::Tiling& tiles,
                             const std::function<tasks::Outputs(const torch::Tensor&)>& predict, std::int64_t batch);

}  // namespace lidere::inference
