// Tiled inference for images of any size (the official process_tensor in
// lidere/tasks/semantic_boundary.py): the image is zero-padded at the bottom and right to a
// multiple of the tile size, cut into square tiles `overlap` pixels apart from each other's ends
// (step = size - overlap), each tile predicted (the model resizes it to its input size and the
// probabilities come back at tile size), and the tiles averaged where they overlap.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

namespace lidere::tasks::boundary {

struct TileSettings {
  std::int64_t size = 200;    // tile side in image pixels (official: 200); 0: the whole image at once
  std::int64_t overlap = 40;  // official: int(0.2 * size)
};

// Settings from the command line: size 0 = whole images; overlap < 0 = a fifth of the tile (the
// official int(0.2 * S)). Throws UsageError for a negative size or an overlap not below the size.
TileSettings tile_settings(std::int64_t size, std::int64_t overlap);

// Tile origins along an axis of `length` pixels: 0, step, 2 step, ... while a tile fits in the
// padded length (as torch's unfold in the official code), plus one tile ending at the padded
// edge when those leave image pixels uncovered (the official code would divide by zero there).
std::vector<std::int64_t> tile_origins(std::int64_t length, const TileSettings& tiles);

// Probabilities (H, W) of an image (3, H, W): `predict` maps a batch of tiles (N, 3, S, S) to
// probabilities (N, S, S); at most `batch` tiles are passed at once.
torch::Tensor predict_tiled(const torch::Tensor& image, const TileSettings& tiles,
                            const std::function<torch::Tensor(const torch::Tensor&)>& predict, std::int64_t batch);

}  // namespace lidere::tasks::boundary
