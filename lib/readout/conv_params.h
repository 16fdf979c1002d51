// Convolution parameters stored in the official Conv3d / ConvTranspose3d / Conv2d layouts, so
// that official state dicts load by name and shape, while the forward pass runs the cheaper 2-D
// convolution (every kernel of the official readout has temporal extent 1).
#pragma once

#include <torch/nn/module.h>

namespace lidere::readout {

// A convolution with a k x k spatial kernel whose weight is stored with `time_axis` (Conv3d:
// (out, in, 1, k, k)) or without it (Conv2d: (out, in, k, k)). Default PyTorch initialisation.
class ConvImpl : public torch::nn::Module {
 public:
  ConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, bool time_axis);
  // x: (B, in, H, W) -> (B, out, H, W); "same" padding.
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  std::int64_t kernel_;
  bool time_axis_;
};
TORCH_MODULE(Conv);

// ConvTranspose3d with kernel = stride = (1, f, f): weight (in, out, 1, f, f). Upsamples by f.
class UpConvImpl : public torch::nn::Module {
 public:
  UpConvImpl(std::int64_t in, std::int64_t out, std::int64_t factor);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  std::int64_t factor_;
};
TORCH_MODULE(UpConv);

// A module whose children are named by integer position, like torch.nn.Sequential's, with
// gaps where the official Sequential holds parameter-free layers (ReLU, Sine, ...).
class IndexedImpl : public torch::nn::Module {
 public:
  template <typename M>
  M add(int index, M module) {
    return register_module(std::to_string(index), std::move(module));
  }
};
TORCH_MODULE(Indexed);

}  // namespace lidere::readout
