#include "tasks/boundary/tiling.h"

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere::tasks::boundary {

TileSettings tile_settings(std::int64_t size, std::int64_t overlap) {
  if (size < 0) throw UsageError("--tile must be 0 (whole image) or a tile size in pixels");
  const TileSettings t{size, overlap >= 0 ? overlap : size / 5};
  if (size > 0) tile_origins(size, t);  // checks the overlap
  return t;
}

std::vector<std::int64_t> tile_origins(std::int64_t length, const TileSettings& t) {
  if (t.size <= 0 || t.overlap < 0 || t.overlap >= t.size) {
    throw UsageError(
        fmt::format("tiles of {} px with {} px overlap: the overlap must be in [0, size)", t.size, t.overlap));
  }
  const std::int64_t padded = (length + t.size - 1) / t.size * t.size, step = t.size - t.overlap;
  std::vector<std::int64_t> origins;
  for (std::int64_t o = 0; o + t.size <= padded; o += step) origins.push_back(o);
  if (origins.back() + t.size < length) origins.push_back(padded - t.size);
  return origins;
}

torch::Tensor predict_tiled(const torch::Tensor& image, const TileSettings& t,
                            const std::function<torch::Tensor(const torch::Tensor&)>& predict, std::int64_t batch) {
  const std::int64_t rows = image.size(1), cols = image.size(2);
  const std::vector<std::int64_t> tops = tile_origins(rows, t), lefts = tile_origins(cols, t);
  const std::int64_t padded_rows = (rows + t.size - 1) / t.size * t.size,
                     padded_cols = (cols + t.size - 1) / t.size * t.size;
  const torch::Tensor padded = torch::constant_pad_nd(image, {0, padded_cols - cols, 0, padded_rows - rows}, 0.0);
  torch::Tensor sum = torch::zeros({padded_rows, padded_cols}, torch::kFloat);
  torch::Tensor count = torch::zeros_like(sum);
  std::vector<std::pair<std::int64_t, std::int64_t>> places;
  for (std::int64_t top : tops) {
    for (std::int64_t left : lefts) places.emplace_back(top, left);
  }
  for (std::size_t first = 0; first < places.size(); first += static_cast<std::size_t>(batch)) {
    const std::size_t last = std::min(places.size(), first + static_cast<std::size_t>(batch));
    std::vector<torch::Tensor> tiles;
    for (std::size_t i = first; i < last; ++i) {
      tiles.push_back(padded.slice(1, places[i].first, places[i].first + t.size)
                          .slice(2, places[i].second, places[i].second + t.size));
    }
    const torch::Tensor probabilities = predict(torch::stack(tiles)).to(torch::kFloat).cpu();
    for (std::size_t i = first; i < last; ++i) {
      const auto [top, left] = places[i];
      sum.slice(0, top, top + t.size).slice(1, left, left + t.size) +=
          probabilities[static_cast<std::int64_t>(i - first)];
      count.slice(0, top, top + t.size).slice(1, left, left + t.size) += 1;
    }
  }
  return (sum / count).slice(0, 0, rows).slice(1, 0, cols).contiguous();
}

}  // namespace lidere::tasks::boundary
