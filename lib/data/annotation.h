// What a dataset reader returns with each image: its annotation, of one or more kinds. Each kind
// applies a geometric transform (data/geometry.h) to itself, so the augmentation draws a transform
// once and the image and every annotation follow it. Coordinates of points and boxes are continuous
// pixel coordinates of the image (see geometry.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "data/geometry.h"

namespace lidere::data {

// A class index per pixel (semantic segmentation). Pixels of `ignore_index` are unlabelled; they
// are also what rotation fills the corners with.
struct LabelMap {
  torch::Tensor classes;  // (H, W) integer
  std::int64_t ignore_index = 255;
  LabelMap transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const;
};

// Several annotators' binary maps of one image (BSDS boundaries).
struct AnnotatorMaps {
  torch::Tensor maps;  // (K, H, W) uint8, 1 = marked
  AnnotatorMaps transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const;
};

// Values per pixel (depth, density, a regression target), C channels; resampled with nearest
// neighbour so that no value is invented, filled with 0 outside the image.
struct ValueMap {
  torch::Tensor values;  // (C, H, W) float
  ValueMap transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const;
};

// Objects as axis-aligned boxes with a class each; `ignore` marks regions that neither count as
// objects nor as background (COCO crowd, VOC difficult).
struct Boxes {
  torch::Tensor xyxy;     // (N, 4) float64: left, top, right, bottom
  torch::Tensor classes;  // (N) int64
  torch::Tensor ignore;   // (N) bool
  std::int64_t size() const { return xyxy.defined() ? xyxy.size(0) : 0; }
  // Each box's corners are mapped and the box becomes their bounding box, clipped to the output;
  // boxes left with no area are dropped.
  Boxes transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const;
};

// Keypoints of N instances with K keypoints each, with visibility. `flip_pairs` lists, for each
// keypoint, the index it becomes under a horizontal flip (left eye <-> right eye; itself for a
// keypoint on the midline); empty means every keypoint keeps its index.
struct Keypoints {
  torch::Tensor xy;       // (N, K, 2) float64
  torch::Tensor visible;  // (N, K) bool
  std::vector<std::int64_t> flip_pairs;
  // Points are mapped; those that leave the output become invisible; a flip permutes keypoints by
  // flip_pairs.
  Keypoints transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const;
};

struct Annotation {
  std::optional<LabelMap> label_map;
  std::optional<AnnotatorMaps> annotator_maps;
  std::optional<ValueMap> value_map;
  std::optional<Boxes> boxes;
  std::optional<Keypoints> keypoints;

  // (H, W) bool of the pixels that show something annotated (a labelled class other than 0, a mark
  // of any annotator, a box that is not ignored, a visible keypoint), for augmentations that must
  // keep annotated content in view; undefined where the annotation marks no objects (value maps
  // cover every pixel alike).
  torch::Tensor foreground(std::int64_t rows, std::int64_t cols) const;
  Annotation transformed(const GeometricTransform& t, std::int64_t out_rows, std::int64_t out_cols) const;
};

// Applies the affine map A (GeometricTransform::point_map) to points (..., 2).
torch::Tensor map_points(const torch::Tensor& xy, const std::array<double, 6>& a);

}  // namespace lidere::data
