// One geometric transform per training sample: crop, scale, rotation and horizontal flip, drawn
// once by the augmentation (data/augment.h) and then applied by the image and by every annotation
// to itself (data/annotation.h), so that they stay aligned whatever their kind: dense maps are
// resampled, points and boxes are mapped.
//
// Coordinates are continuous pixel coordinates: pixel (row r, column c) covers [c, c+1) x [r, r+1),
// its centre is (c + 0.5, r + 0.5); x runs along columns, y along rows (downwards).
//
// The stages, in order (each optional):
//   1. crop   the window crop_rows x crop_cols at (crop_top, crop_left) of the source image;
//   2. scale  the crop resized to rows x cols (the official zoom resizes it back to the image's size);
//   3. rotate by rotation_degrees about the centre, counter-clockwise as seen on screen, keeping the
//             size (corners that come from outside the image are filled);
//   4. flip   horizontally; keypoints also swap left and right (their annotation's permutation);
//   5. resize to the size the consumer asks for (the model input for images, a task's target size
//             for annotations).
#pragma once

#include <array>
#include <cstdint>

#include <torch/types.h>

namespace lidere::data {

struct GeometricTransform {
  std::int64_t source_rows = 0, source_cols = 0;
  std::int64_t crop_top = 0, crop_left = 0, crop_rows = 0, crop_cols = 0;
  std::int64_t rows = 0, cols = 0;  // after scaling (and rotation and flip)
  double rotation_degrees = 0.0;
  bool hflip = false;

  // Nothing but the final resize, for an image of rows x cols.
  static GeometricTransform identity(std::int64_t rows, std::int64_t cols);
  bool crops() const { return crop_top != 0 || crop_left != 0 || crop_rows != source_rows || crop_cols != source_cols; }

  // The affine map of stages 1-5 for an output of out_rows x out_cols: (x', y') = A (x, y, 1),
  // A row-major [a00 a01 a02 a10 a11 a12].
  std::array<double, 6> point_map(std::int64_t out_rows, std::int64_t out_cols) const;
};

// Stages 1-2 of a dense map (C, H, W) or (H, W): the crop window resized to rows x cols, bilinear
// with antialiasing for float images (`smooth`), nearest for labels (any dtype, kept).
torch::Tensor crop_and_scale(const torch::Tensor& map, const GeometricTransform& t, bool smooth);

// Stages 3-5 of a map that went through stages 1-2: rotation (bilinear for `smooth`, else nearest,
// outside pixels set to `fill`), flip, then resize to out_rows x out_cols as crop_and_scale does.
torch::Tensor rotate_flip_resize(const torch::Tensor& map, const GeometricTransform& t, std::int64_t out_rows,
                                 std::int64_t out_cols, bool smooth, double fill);

// All five stages.
torch::Tensor transform_map(const torch::Tensor& map, const GeometricTransform& t, std::int64_t out_rows,
                            std::int64_t out_cols, bool smooth, double fill);

// Resizing as the data pipeline does it: images (3, H, W) bilinear with antialiasing (as
// torchvision's Resize on tensors), labels (H, W) of any dtype nearest, the dtype kept. No-ops at
// the same size.
torch::Tensor resize_image(const torch::Tensor& image, std::int64_t rows, std::int64_t cols);
torch::Tensor resize_label(const torch::Tensor& label, std::int64_t rows, std::int64_t cols);

}  // namespace lidere::data
