#include "inference/tiling.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere::inference {

std::vector<std::int64_t> tile_origins(std::int64_t length, const tasks::Tiling& t) {
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

tasks::Outputs predict_tiled(const torch::Tensor& image, const tasks::Tiling& t,
                             const std::function<tasks::Outputs(const torch::Tensor&)>& predict, std::int64_t batch) {
  const std::int64_t rows = image.size(1), cols = image.size(2);
  const std::vector<std::int64_t> tops = tile_origins(rows, t), lefts = tile_origins(cols, t);
  const std::int64_t padded_rows = (rows + t.size - 1) / t.size * t.size,
                     padded_cols = (cols + t.size - 1) / t.size * t.size;
  const torch::Tensor padded = torch::constant_pad_nd(image, {0, padded_cols - cols, 0, padded_rows - rows}, 0.0);
  std::map<std::string, torch::Tensor> sums;
  torch::Tensor count = torch::zeros({padded_rows, padded_cols}, torch::kFloat);
  std::vector<std::pair<std::int64_t, std::int64_t>> places;
  for (std::int64_t top : tops) {
    for (std::int64_t left : lefts) places.emplace_back(top, left);
  }
  const auto tile_of = [&](const torch::Tensor& map, std::int64_t top, std::int64_t left) {
    return map.slice(-2, top, top + t.size).slice(-1, left, left + t.size);
  };
  for (std::size_t first = 0; first < places.size(); first += static_cast<std::size_t>(batch)) {
    const std::size_t last = std::min(places.size(), first + static_cast<std::size_t>(batch));
    std::vector<torch::Tensor> tiles;
    for (std::size_t i = first; i < last; ++i) tiles.push_back(tile_of(padded, places[i].first, places[i].second));
    const tasks::Outputs results = predict(torch::stack(tiles));
    for (const auto& [name, value] : results) {
      const torch::Tensor r = value.to(torch::kFloat).cpu();
      torch::Tensor& sum = sums[name];
      if (!sum.defined()) sum = torch::zeros({r.size(1), padded_rows, padded_cols}, torch::kFloat);
      for (std::size_t i = first; i < last; ++i) {
        tile_of(sum, places[i].first, places[i].second) += r[static_cast<std::int64_t>(i - first)];
      }
    }
    for (std::size_t i = first; i < last; ++i) tile_of(count, places[i].first, places[i].second) += 1;
  }
  tasks::Outputs averaged;
  for (const auto& [name, sum] : sums) averaged[name] = (sum / count).slice(-2, 0, rows).slice(-1, 0, cols).contiguous();
  return averaged;
}

}  // namespace lidere::inference
