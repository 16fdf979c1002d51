// Training augmentations as the official SegmentationTransforms (method.md section 4), on
// tensors, drawing every random number from a caller-provided Rng so that a sample's augmentation
// is reproducible from (seed, epoch, sample):
//   'standard'  with p 0.8: { p 0.5 zoom (crop 1/U(1, up_factor) of the image, up to 20 tries to
//               keep >= 30% of the labelled foreground, resized back), p 0.3 grayscale, p 0.5
//               colour jitter (brightness, contrast, saturation each x U(0.5, 2), in random order),
//               p p_blur Gaussian blur (kernel 21, sigma U(1, 3)) }, then a horizontal flip p 0.5
//   'hflip'     only the flip
//   'none'      nothing
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "core/rng.h"

namespace lidere::datasets {

struct AugmentSettings {
  std::string mode = "hflip";  // standard | hflip | none
  double up_factor = 1.5;
  double p_blur = 0.0;
  std::int64_t ignore_index = 255;  // not foreground for the zoom's coverage test
};

// image: (3, H, W) float RGB in [0, 1]; label: (H, W) class ids or a soft target map (may be
// undefined for images only); its non-zero values other than ignore_index are the foreground.
// Both are replaced by their augmented versions (same size as before).
void augment(torch::Tensor& image, torch::Tensor& label, const AugmentSettings& settings, Rng& rng);

// Resizing as the data pipeline does it: images bilinear with antialiasing (as torchvision's
// Resize on tensors), labels nearest. No-ops at the same size.
torch::Tensor resize_image(const torch::Tensor& image, std::int64_t rows, std::int64_t cols);  // (3, H, W)
// (H, W) of any dtype (class ids, soft targets), nearest neighbour, the dtype kept.
torch::Tensor resize_label(const torch::Tensor& label, std::int64_t rows, std::int64_t cols);

// Whether a mode's output depends only on the image and a flip (so backbone features can be cached).
bool augmentation_is_cacheable(const std::string& mode);

}  // namespace lidere::datasets
