// A frozen feature extractor: images in, a dense feature map out. Implementations:
// VitBackbone (DINOv2/DINOv3, native). The readout only sees the feature map.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include <torch/types.h>

#include "core/grid_size.h"

namespace lidere::backbones {

struct FeatureShape {
  std::int64_t channels = 0;
  GridSize grid;
};

class Backbone {
 public:
  virtual ~Backbone() = default;
  virtual std::string describe() const = 0;
  virtual std::int64_t parameter_count() const = 0;
  // Pixels per feature token along each axis.
  virtual std::int64_t stride() const = 0;
  // The features an input of rows x cols pixels gives; throws UsageError when the size does not
  // fit the model (e.g. not a multiple of the patch size), naming the size and what would.
  virtual FeatureShape feature_shape(std::int64_t rows, std::int64_t cols) const = 0;
  // images: (B, 3, H, W), RGB in [0, 1] -> features (B, C, H / stride, W / stride).
  virtual torch::Tensor features(const torch::Tensor& images) = 0;
  // Every tensor the features depend on (parameters and buffers), for the cache's fingerprint.
  virtual std::vector<torch::Tensor> weights() const = 0;
  // Moves the weights to `device`; features() then expects images there.
  virtual void to(torch::Device device) = 0;

  // Parameters that training updates (e.g. LoRA adapters), by name; empty for a frozen backbone.
  // Features of a backbone with trainable parameters must be computed with gradients and never
  // cached.
  virtual std::vector<std::pair<std::string, torch::Tensor>> trainable_parameters() const { return {}; }
  // The adapters' parameters (LoRA), by name, whether they train now or were loaded from a
  // checkpoint: the features depend on them, the base weights' identity (the fingerprint) does not.
  virtual std::vector<std::pair<std::string, torch::Tensor>> adapter_parameters() const { return {}; }
  // Adds LoRA adapters (the paper's "+LoRA"); throws UsageError for a backbone that has none.
  virtual void enable_lora(std::int64_t rank, double alpha);
  // Activation checkpointing while adapters train (recompute each block in the backward instead of
  // keeping its activations); throws UsageError for a backbone that cannot.
  virtual void set_activation_checkpointing(bool on);
};

// The official pre-processing plus extraction: images (B, 3, h, w) in [0, 1] of any size are
// resized to the configured input size rows x cols (bicubic, antialiased), then run through the
// backbone.
torch::Tensor extract_features(Backbone& backbone, const torch::Tensor& images, std::int64_t rows, std::int64_t cols);

// All parameters and buffers of a module, in registration order.
std::vector<torch::Tensor> module_weights(const torch::nn::Module& module);

// Bicubic resize of (B, C, h, w) to rows x cols (align_corners=False), as torch's interpolate
// with a target size; with `antialias`, the antialiased kernel torch uses for downscaling.
torch::Tensor resize_bicubic(const torch::Tensor& x, std::int64_t rows, std::int64_t cols, bool antialias);

// Resizes images (B, 3, h, w) in [0, 1] to rows x cols as the official code does before the
// backbone: bicubic with antialiasing.
inline torch::Tensor resize_images(const torch::Tensor& images, std::int64_t rows, std::int64_t cols) {
  return resize_bicubic(images, rows, cols, /*antialias=*/true);
}

// Normalises RGB in [0, 1] with the ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
torch::Tensor imagenet_normalize(const torch::Tensor& images);

}  // namespace lidere::backbones
