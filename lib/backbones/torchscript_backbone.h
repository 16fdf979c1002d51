// Backbones exported from Python as TorchScript (ConvNeXt, SAM, CLIP, ...).
//
// Contract for the .pt file (torch.jit.script or torch.jit.trace, saved with torch.jit.save):
//   forward(images: Tensor[B, 3, H, W]) -> List[Tensor] or Tuple[Tensor, ...]  (or one Tensor)
//   - images are RGB normalised with the ImageNet mean (0.485, 0.456, 0.406) and std
//     (0.229, 0.224, 0.225), float32, on the module's device;
//   - each output is a feature map (B, C_i, h_i, w_i).
// lidere brings every map to the grid of the first one (bilinear), L2-normalises each map per
// token and concatenates them along channels. The stride is input size / first map's size.
#pragma once

#include <map>
#include <string>
#include <utility>

#include <torch/script.h>

#include "backbones/backbone.h"

namespace lidere::backbones {

class TorchScriptBackbone : public Backbone {
 public:
  // Throws InputError naming the file when it is not a loadable TorchScript module.
  explicit TorchScriptBackbone(const std::string& path);

  std::string describe() const override;
  std::int64_t parameter_count() const override;
  std::int64_t stride() const override;
  // Runs the module once on a zero image of that size (cached per size) to learn the shape.
  FeatureShape feature_shape(std::int64_t rows, std::int64_t cols) const override;
  torch::Tensor features(const torch::Tensor& images) override;
  std::vector<torch::Tensor> weights() const override;
  void to(torch::Device device) override {
    module_.to(device);
    device_ = device;
  }

 private:
  std::vector<torch::Tensor> run(const torch::Tensor& normalized) const;

  std::string path_;
  torch::Device device_ = torch::kCPU;
  mutable torch::jit::Module module_;
  mutable std::map<std::pair<std::int64_t, std::int64_t>, FeatureShape> shapes_;
  static constexpr std::int64_t kProbeSize = 224;
};

}  // namespace lidere::backbones
