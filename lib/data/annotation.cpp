#include "data/annotation.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace lidere::data {

torch::Tensor map_points(const torch::Tensor& xy, const std::array<double, 6>& a) {
  const torch::Tensor x = xy.select(-1, 0), y = xy.select(-1, 1);
  return torch::stack({a[0] * x + a[1] * y + a[2], a[3] * x + a[4] * y + a[5]}, -1);
}

LabelMap LabelMap::transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const {
  return {transform_map(classes, t, out_rows, out_cols, /*smooth=*/false, static_cast<double>(ignore_index)),
          ignore_index};
}

AnnotatorMaps AnnotatorMaps::transformed(const GeometricTransform& t, std::int64_t out_rows,
                                         std::int64_t out_cols) const {
  return {transform_map(maps, t, out_rows, out_cols, /*smooth=*/false, 0.0)};
}

ValueMap ValueMap::transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const {
  return {transform_map(values, t, out_rows, out_cols, /*smooth=*/false, 0.0)};
}

Boxes Boxes::transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const {
  if (size() == 0) return *this;
  const auto a = t.point_map(out_rows, out_cols);
  const torch::Tensor b = xyxy.to(torch::kDouble);
  const torch::Tensor x0 = b.select(1, 0), y0 = b.select(1, 1), x1 = b.select(1, 2), y1 = b.select(1, 3);
  const torch::Tensor corners = torch::stack({torch::stack({x0, y0}, -1), torch::stack({x1, y0}, -1),
                                              torch::stack({x0, y1}, -1), torch::stack({x1, y1}, -1)},
                                             1);  // (N, 4, 2)
  const torch::Tensor mapped = map_points(corners, a);
  const torch::Tensor xs = mapped.select(-1, 0), ys = mapped.select(-1, 1);
  const torch::Tensor box = torch::stack({std::get<0>(xs.min(1)).clamp(0, static_cast<double>(out_cols)),
                                          std::get<0>(ys.min(1)).clamp(0, static_cast<double>(out_rows)),
                                          std::get<0>(xs.max(1)).clamp(0, static_cast<double>(out_cols)),
                                          std::get<0>(ys.max(1)).clamp(0, static_cast<double>(out_rows))},
                                         1);
  const torch::Tensor keep =
      ((box.select(1, 2) > box.select(1, 0)) & (box.select(1, 3) > box.select(1, 1))).nonzero().squeeze(1);
  return {box.index_select(0, keep), classes.index_select(0, keep), ignore.index_select(0, keep)};
}

Keypoints Keypoints::transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const {
  if (!xy.defined() || xy.numel() == 0) return *this;
  torch::Tensor points = map_points(xy.to(torch::kDouble), t.point_map(out_rows, out_cols));
  const torch::Tensor x = points.select(-1, 0), y = points.select(-1, 1);
  torch::Tensor seen = visible & (x >= 0) & (x < static_cast<double>(out_cols)) & (y >= 0) &
                       (y < static_cast<double>(out_rows));
  if (t.hflip && !flip_pairs.empty()) {
    if (static_cast<std::int64_t>(flip_pairs.size()) != xy.size(1)) {
      throw UsageError("keypoints: the flip pairs do not list every keypoint");
    }
    const torch::Tensor order = torch::tensor(flip_pairs, torch::kLong);
    points = points.index_select(1, order);
    seen = seen.index_select(1, order);
  }
  return {points, seen, flip_pairs};
}

torch::Tensor Annotation::foreground(std::int64_t rows, std::int64_t cols) const {
  torch::Tensor mask;
  const auto add = [&](const torch::Tensor& m) { mask = mask.defined() ? (mask | m) : m; };
  if (label_map) add((label_map->classes != 0) & (label_map->classes != label_map->ignore_index));
  if (annotator_maps) add((annotator_maps->maps != 0).any(0));
  const auto blank = [&] { return torch::zeros({rows, cols}, torch::kBool); };
  if (boxes && boxes->size() > 0) {
    torch::Tensor m = blank();
    for (std::int64_t i = 0; i < boxes->size(); ++i) {
      if (boxes->ignore[i].item<bool>()) continue;
      const auto edge = [&](int k, std::int64_t limit, bool up) {
        const double v = boxes->xyxy[i][k].item<double>();
        return std::clamp<std::int64_t>(static_cast<std::int64_t>(up ? std::ceil(v) : std::floor(v)), 0, limit);
      };
      m.slice(0, edge(1, rows, false), edge(3, rows, true)).slice(1, edge(0, cols, false), edge(2, cols, true)).fill_(true);
    }
    add(m);
  }
  if (keypoints && keypoints->xy.defined() && keypoints->xy.numel() > 0) {
    torch::Tensor m = blank();
    const torch::Tensor xy = keypoints->xy.reshape({-1, 2}), seen = keypoints->visible.reshape({-1});
    for (std::int64_t i = 0; i < xy.size(0); ++i) {
      if (!seen[i].item<bool>()) continue;
      const auto c = static_cast<std::int64_t>(std::floor(xy[i][0].item<double>()));
      const auto r = static_cast<std::int64_t>(std::floor(xy[i][1].item<double>()));
      if (r >= 0 && r < rows && c >= 0 && c < cols) m[r][c] = true;
    }
    add(m);
  }
  return mask;
}

Annotation Annotation::transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const {
  Annotation out;
  if (label_map) out.label_map = label_map->transformed(t, out_rows, out_cols);
  if (annotator_maps) out.annotator_maps = annotator_maps->transformed(t, out_rows, out_cols);
  if (value_map) out.value_map = value_map->transformed(t, out_rows, out_cols);
  if (boxes) out.boxes = boxes->transformed(t, out_rows, out_cols);
  if (keypoints) out.keypoints = keypoints->transformed(t, out_rows, out_cols);
  return out;
}

}  // namespace lidere::data
