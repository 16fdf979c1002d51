#include "backbones/backbone.h"

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere::backbones {

void Backbone::enable_lora(std::int64_t, double) {
  throw UsageError(fmt::format("LoRA adapters need a ViT backbone (DINOv2/DINOv3), not {}", describe()));
}

void Backbone::set_activation_checkpointing(bool on) {
  if (on) {
    throw UsageError(fmt::format("activation checkpointing needs a ViT backbone (DINOv2/DINOv3), not {}", describe()));
  }
}

torch::Tensor resize_bicubic(const torch::Tensor& x, std::int64_t rows, std::int64_t cols, bool antialias) {
  if (x.size(2) == rows && x.size(3) == cols) return x;
  // The ATen kernels torch.nn.functional.interpolate dispatches to for a target size.
  return antialias ? at::_upsample_bicubic2d_aa(x, {rows, cols}, /*align_corners=*/false)
                   : at::upsample_bicubic2d(x, {rows, cols}, /*align_corners=*/false);
}

torch::Tensor imagenet_normalize(const torch::Tensor& images) {
  const auto options = images.options();
  const torch::Tensor mean = torch::tensor({0.485, 0.456, 0.406}, options).view({1, 3, 1, 1});
  const torch::Tensor std = torch::tensor({0.229, 0.224, 0.225}, options).view({1, 3, 1, 1});
  return (images - mean) / std;
}

std::vector<torch::Tensor> module_weights(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out = module.parameters();
  for (const auto& b : module.buffers()) out.push_back(b);
  return out;
}

torch::Tensor extract_features(Backbone& backbone, const torch::Tensor& images, std::int64_t rows, std::int64_t cols) {
  backbone.feature_shape(rows, cols);  // a clear error for a size the model cannot take, before any work
  return backbone.features(resize_images(images, rows, cols));
}

}  // namespace lidere::backbones
