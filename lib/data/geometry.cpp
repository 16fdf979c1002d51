#include "data/geometry.h"

#include <cmath>
#include <numbers>

#include <ATen/ATen.h>

namespace lidere::data {
namespace {

using Matrix = std::array<double, 9>;  // row-major 3x3 affine

Matrix multiply(const Matrix& a, const Matrix& b) {
  Matrix out{};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < 3; ++k) out[r * 3 + c] += a[r * 3 + k] * b[k * 3 + c];
    }
  }
  return out;
}

// The rotation of stage 3 as seen in y-down image coordinates: counter-clockwise on screen maps
// the offset (dx, dy) from the centre to (c dx + s dy, -s dx + c dy).
struct Rotation {
  double c, s;
  explicit Rotation(double degrees)
      : c(std::cos(degrees * std::numbers::pi / 180.0)), s(std::sin(degrees * std::numbers::pi / 180.0)) {}
};

torch::Tensor rotate(const torch::Tensor& map, double degrees, bool smooth, double fill) {
  if (degrees == 0.0) return map;
  const bool flat = map.dim() == 2;
  const torch::Tensor x = (flat ? map.unsqueeze(0) : map).unsqueeze(0);  // (1, C, H, W)
  const auto H = static_cast<double>(x.size(2)), W = static_cast<double>(x.size(3));
  const Rotation r(degrees);
  // grid_sample's normalised coordinates (align_corners=False: u = 2x/W - 1 for continuous x):
  // the output pixel at offset d from the centre samples the input at R^-1 d, with
  // R^-1 = [[c, -s], [s, c]], rescaled per axis for non-square maps.
  const torch::Tensor theta =
      torch::tensor({r.c, -r.s * H / W, 0.0, r.s * W / H, r.c, 0.0}, torch::kFloat).view({1, 2, 3});
  const torch::Tensor grid = at::affine_grid_generator(theta, x.sizes(), /*align_corners=*/false);
  // Outside pixels read zeros; shifting by the fill value makes them read `fill` instead (exact for
  // the small integers of label maps).
  const torch::Tensor input = x.to(torch::kFloat) - fill;
  const torch::Tensor sampled =
      at::grid_sampler_2d(input, grid, /*interpolation_mode=*/smooth ? 0 : 1, /*padding_mode=*/0,
                          /*align_corners=*/false) +
      fill;
  torch::Tensor out = sampled[0].to(map.scalar_type());
  if (smooth) out = out.clamp(0.0, 1.0);
  return flat ? out[0] : out;
}

torch::Tensor resize(const torch::Tensor& map, std::int64_t rows, std::int64_t cols, bool smooth) {
  if (smooth) return resize_image(map, rows, cols);
  return resize_label(map, rows, cols);
}

}  // namespace

GeometricTransform GeometricTransform::identity(std::int64_t rows, std::int64_t cols) {
  GeometricTransform t;
  t.source_rows = t.crop_rows = t.rows = rows;
  t.source_cols = t.crop_cols = t.cols = cols;
  return t;
}

std::array<double, 6> GeometricTransform::point_map(std::int64_t out_rows, std::int64_t out_cols) const {
  const auto d = [](std::int64_t v) { return static_cast<double>(v); };
  const Matrix crop = {1, 0, -d(crop_left), 0, 1, -d(crop_top), 0, 0, 1};
  const Matrix scale = {d(cols) / d(crop_cols), 0, 0, 0, d(rows) / d(crop_rows), 0, 0, 0, 1};
  const Rotation r(rotation_degrees);
  const double cx = d(cols) / 2, cy = d(rows) / 2;
  const Matrix rotation = {r.c, r.s, cx - r.c * cx - r.s * cy, -r.s, r.c, cy + r.s * cx - r.c * cy, 0, 0, 1};
  const Matrix flip = hflip ? Matrix{-1, 0, d(cols), 0, 1, 0, 0, 0, 1} : Matrix{1, 0, 0, 0, 1, 0, 0, 0, 1};
  const Matrix out = {d(out_cols) / d(cols), 0, 0, 0, d(out_rows) / d(rows), 0, 0, 0, 1};
  const Matrix m = multiply(out, multiply(flip, multiply(rotation, multiply(scale, crop))));
  return {m[0], m[1], m[2], m[3], m[4], m[5]};
}

torch::Tensor resize_image(const torch::Tensor& image, std::int64_t rows, std::int64_t cols) {
  if (image.size(1) == rows && image.size(2) == cols) return image;
  return at::_upsample_bilinear2d_aa(image.unsqueeze(0), {rows, cols}, false)[0].clamp(0.0, 1.0);
}

torch::Tensor resize_label(const torch::Tensor& label, std::int64_t rows, std::int64_t cols) {
  if (label.size(-2) == rows && label.size(-1) == cols) return label;
  if (label.dim() == 3) {  // (K, H, W): every map alike
    return at::upsample_nearest2d(label.unsqueeze(0).to(torch::kFloat), {rows, cols})[0].to(label.scalar_type());
  }
  return at::upsample_nearest2d(label.unsqueeze(0).unsqueeze(0).to(torch::kFloat), {rows, cols})[0][0].to(
      label.scalar_type());
}

torch::Tensor crop_and_scale(const torch::Tensor& map, const GeometricTransform& t, bool smooth) {
  const torch::Tensor window = t.crops() ? map.slice(-2, t.crop_top, t.crop_top + t.crop_rows)
                                               .slice(-1, t.crop_left, t.crop_left + t.crop_cols)
                                         : map;
  return resize(window, t.rows, t.cols, smooth);
}

torch::Tensor rotate_flip_resize(const torch::Tensor& map, const GeometricTransform& t, std::int64_t out_rows,
                                 std::int64_t out_cols, bool smooth, double fill) {
  torch::Tensor x = rotate(map, t.rotation_degrees, smooth, fill);
  if (t.hflip) x = x.flip(-1);
  return resize(x, out_rows, out_cols, smooth);
}

torch::Tensor transform_map(const torch::Tensor& map, const GeometricTransform& t, std::int64_t out_rows,
                            std::int64_t out_cols, bool smooth, double fill) {
  return rotate_flip_resize(crop_and_scale(map, t, smooth), t, out_rows, out_cols, smooth, fill);
}

}  // namespace lidere::data
