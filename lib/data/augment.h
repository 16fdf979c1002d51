// Training augmentations as the official SegmentationTransforms (method.md section 4), drawing every
// random number from a caller-provided Rng so that a sample's augmentation is reproducible from
// (seed, epoch, sample):
//   'standard'  with p 0.8: { p 0.5 zoom (crop 1/U(1, up_factor) of the image, up to 20 tries to
//               keep >= 30% of the annotated foreground, resized back), p 0.3 grayscale, p 0.5
//               colour jitter (brightness, contrast, saturation each x U(0.5, 2), in random order),
//               p p_blur Gaussian blur (kernel 21, sigma U(1, 3)) }, then a horizontal flip p 0.5
//   'hflip'     only the flip
//   'none'      nothing
// plus, where max_rotation > 0 (any mode but 'none'), a rotation by U(-max_rotation, max_rotation)
// degrees, drawn after everything above so that the other draws stay as they were.
//
// A draw is a plan: one geometric transform (data/geometry.h), which the image and every
// annotation apply to themselves, and the photometric changes, which only the image takes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/rng.h"
#include "data/annotation.h"
#include "data/geometry.h"

namespace lidere::data {

struct AugmentSettings {
  std::string mode = "hflip";  // standard | hflip | none
  double up_factor = 1.5;
  double p_blur = 0.0;
  double max_rotation = 0.0;  // degrees
};

struct AugmentationPlan {
  GeometricTransform geometry;
  bool grayscale = false;
  // Colour jitter: factors and the order of the three operations (0 brightness, 1 contrast,
  // 2 saturation); empty order = no jitter.
  double brightness = 1.0, contrast = 1.0, saturation = 1.0;
  std::vector<std::int64_t> jitter_order;
  double blur_sigma = 0.0;  // 0: no blur
};

// Draws the augmentation of an image of rows x cols with its annotation (whose foreground the zoom
// keeps in view). Throws UsageError for an unknown mode.
AugmentationPlan draw_augmentation(const AugmentSettings& settings, std::int64_t rows, std::int64_t cols,
                                   const Annotation& annotation, Rng& rng);

// The image (3, H, W) float RGB in [0, 1] through a plan, resized to out_rows x out_cols: crop and
// zoom, photometric changes, rotation and flip, resize (the official order).
torch::Tensor augment_image(const torch::Tensor& image, const AugmentationPlan& plan, std::int64_t out_rows,
                            std::int64_t out_cols);

// An image and a label map augmented together at the image's size (a convenience for one label
// map; the loader keeps annotations with their transform instead).
void augment(torch::Tensor& image, torch::Tensor& label, const AugmentSettings& settings, Rng& rng,
             std::int64_t ignore_index = 255);

// Whether a mode's output depends only on the image and a flip (so backbone features can be cached).
bool augmentation_is_cacheable(const AugmentSettings& settings);

}  // namespace lidere::data
