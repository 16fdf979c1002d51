// CenterNet-style detection as the official LiDeRe code does it (../shared/docs/detection-pose.md,
// with the official file and line of each formula), as pure functions of tensors:
//   targets   (datasets/plantdoc.py:124-198, functions.py:158-167), built after augmentation at the
//             input resolution: a centre heatmap, the sum over objects of exp(-d / (2 s^2)) with d
//             the Euclidean pixel distance (not squared) and s = 0.02 (5 sqrt(H) + 0.25 sqrt(box
//             pixels)); sizes (w / W, h / H) and labels (class + 1) at the pixels within normalised
//             distance 0.1 of a centre (the nearest centre wins), 0 elsewhere. The official per-object
//             scales pair with the wrong object when an invalid box precedes a valid one; here each
//             object keeps its own. Ignore boxes (VOC difficult, COCO crowd) make no targets.
//             Two official quirks not kept (read at commit ec012c6): the size is the mask's index
//             span, max - min, one pixel less than the box (here w / W, h / H, so that decoding gives
//             the box back); and the heatmap's distances use pixel positions linspace(0, 1, n) x n
//             (pixel i at i n / (n - 1)) against centres in pixel indices (here both in indices).
//   loss      (tasks/center_net.py:200-253): targets resized to the output (heatmap and sizes
//             bilinear, labels nearest); 50 x soft sigmoid focal loss (alpha 0.25, gamma 2, mean over
//             pixels) + L1 over the size elements whose target is > 0 + 0.2 x cross-entropy of the
//             class logits over classes + background at labelled pixels. An empty term is 0, never
//             NaN (the official divides by zero on images without boxes).
//   decoding  (center_net.py:65-113): peaks of sigmoid(centre logits) that equal their 5 x 5 maximum
//             and exceed 0.01; the size at the peak; class probabilities = softmax over classes +
//             background; box = centre +- size / 2, clamped to the image; class-agnostic NMS at IoU
//             0.5 on the centre score, at most 200 kept; each kept box gives one detection per class
//             (never background) whose probability exceeds 0.05, scored centre score x class
//             probability. No peak or no class above the threshold gives no detection (the official
//             crashes on both), and background is never a detection (the official emits class -1
//             when background's probability exceeds 0.05).
#pragma once

#include <cstdint>

#include <torch/types.h>

#include "data/annotation.h"

namespace lidere::tasks::detection {

struct Targets {
  torch::Tensor heatmap;  // (H, W) float
  torch::Tensor sizes;    // (2, H, W) float: w / W, h / H
  torch::Tensor labels;   // (H, W) int64: class + 1, 0 = no label
};

// Targets at rows x cols from boxes already in that frame (x0, y0, x1, y1 pixels).
Targets make_targets(const data::Boxes& boxes, std::int64_t rows, std::int64_t cols);

struct LossWeights {
  double heatmap = 50.0, size = 1.0, classes = 0.2;
};

// The three terms and their weighted sum, for a batch: outputs (B, 1, h, w) centre logits,
// (B, 2, h, w) sizes, (B, C + 1, h, w) class logits; targets stacked (B, H, W), (B, 2, H, W), (B, H, W).
struct LossTerms {
  torch::Tensor total, heatmap, size, classes;
};
LossTerms centernet_loss(const torch::Tensor& centre_logits, const torch::Tensor& sizes, const torch::Tensor& class_logits,
                         const torch::Tensor& heatmap_target, const torch::Tensor& size_target,
                         const torch::Tensor& label_target, const LossWeights& weights = {});

// torchvision's sigmoid_focal_loss with soft targets, mean over elements.
torch::Tensor soft_sigmoid_focal_loss(const torch::Tensor& logits, const torch::Tensor& targets, double alpha = 0.25,
                                      double gamma = 2.0);

struct DecodeSettings {
  double peak_threshold = 0.01;
  std::int64_t peak_window = 5;
  double nms_iou = 0.5;
  std::int64_t max_boxes = 200;
  double class_threshold = 0.05;
};

// One image's detections from its outputs (each (C, h, w) on the CPU): (N, 6) float64 rows of
// x0, y0, x1, y1 (pixels of an image of rows x cols), score, class index (0-based, background
// excluded), by descending score.
torch::Tensor decode_detections(const torch::Tensor& centre_logits, const torch::Tensor& sizes,
                                const torch::Tensor& class_logits, std::int64_t rows, std::int64_t cols,
                                const DecodeSettings& settings = {});

// Greedy class-agnostic NMS (torchvision.ops.nms): indices of the kept boxes (N, 4 x0 y0 x1 y1) by
// descending score, ties in input order.
std::vector<std::int64_t> nms(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold);

}  // namespace lidere::tasks::detection
