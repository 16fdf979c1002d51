#include "readout/upsample_cnn.h"

#include <torch/nn/functional/upsampling.h>

namespace lidere::readout {

UpsampleCnnImpl::UpsampleCnnImpl(const ReadoutConfig& config) : factor_(config.upsample_factor()) {
  const auto width = config.cnn_width();
  out_mlp = register_module("out_mlp", Indexed());
  int index = 0;  // official Sequential positions; ReLUs take the odd ones
  for (std::size_t stage = 0; stage < config.upsample.size(); ++stage) {
    const auto in = stage == 0 ? config.dim : width;
    convs_.push_back(out_mlp->add(index, Conv(in, width, 3, /*time_axis=*/true)));
    upconvs_.push_back(out_mlp->add(index + 2, UpConv(width, width, config.upsample[stage])));
    index += 4;
  }
  out_conv_ = out_mlp->add(index, Conv(width, config.classes, 1, /*time_axis=*/true));
  skip_mlp = register_module("skip_mlp", Indexed());
  skip_conv_ = skip_mlp->add(1, Conv(config.dim, config.classes, 1, /*time_axis=*/true));

  // out_bias (e.g. -5 for sparse heatmaps) goes into both final biases, as in the official code.
  torch::NoGradGuard no_grad;
  out_conv_->bias.add_(config.out_bias);
  skip_conv_->bias.add_(config.out_bias);
}

torch::Tensor UpsampleCnnImpl::forward(const torch::Tensor& x) {
  torch::Tensor main = x;
  for (std::size_t stage = 0; stage < convs_.size(); ++stage) {
    main = torch::relu(convs_[stage]->forward(main));
    main = torch::relu(upconvs_[stage]->forward(main));
  }
  main = out_conv_->forward(main);
  // The official skip path asks for antialiased bilinear; when upsampling, antialiasing changes
  // nothing but the kernel used, and we use the same kernel to reproduce its rounding.
  namespace F = torch::nn::functional;
  const torch::Tensor upsampled = F::interpolate(
      x, F::InterpolateFuncOptions()
             .size(std::vector<std::int64_t>{x.size(2) * factor_, x.size(3) * factor_})
             .mode(torch::kBilinear)
             .align_corners(false)
             .antialias(true));
  return (skip_conv_->forward(upsampled) + main).unsqueeze(2);
}

}  // namespace lidere::readout
