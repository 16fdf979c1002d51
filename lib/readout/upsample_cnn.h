// The CNN upsampler (official UpsampleCNN(up=[2, 2])): per stage conv3x3 -> ReLU ->
// transposed conv (factor f, stride f) -> ReLU, then a 1x1 conv to the outputs; plus a skip
// path: bilinear upsampling by the total factor and a 1x1 conv. Output = skip + main.
#pragma once

#include <vector>

#include <torch/nn/module.h>

#include "readout/config.h"
#include "readout/conv_params.h"

namespace lidere::readout {

class UpsampleCnnImpl : public torch::nn::Module {
 public:
  explicit UpsampleCnnImpl(const ReadoutConfig& config);

  // x: (B, dim, Hb, Wb) -> (B, classes, 1, Hb * F, Wb * F), F = product of the stage factors.
  torch::Tensor forward(const torch::Tensor& x);

  Indexed out_mlp, skip_mlp;

 private:
  std::vector<Conv> convs_;
  std::vector<UpConv> upconvs_;
  Conv out_conv_{nullptr}, skip_conv_{nullptr};
  std::int64_t factor_;
};
TORCH_MODULE(UpsampleCnn);

}  // namespace lidere::readout
