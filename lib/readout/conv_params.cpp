#include "readout/conv_params.h"

#include <cmath>

#include <torch/nn/functional/conv.h>
#include <torch/nn/init.h>

namespace lidere::readout {
namespace {

// PyTorch's default for conv and linear layers: kaiming_uniform(a=sqrt(5)) on the weight, which
// is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
void default_init(torch::Tensor& weight, torch::Tensor& bias, std::int64_t fan_in) {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  bias.uniform_(-bound, bound);
}

}  // namespace

ConvImpl::ConvImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, bool time_axis)
    : kernel_(kernel), time_axis_(time_axis) {
  weight = register_parameter("weight", time_axis ? torch::empty({out, in, 1, kernel, kernel})
                                                  : torch::empty({out, in, kernel, kernel}));
  bias = register_parameter("bias", torch::empty({out}));
  default_init(weight, bias, in * kernel * kernel);
}

torch::Tensor ConvImpl::forward(const torch::Tensor& x) {
  const torch::Tensor w = time_axis_ ? weight.squeeze(2) : weight;
  return torch::conv2d(x, w, bias, /*stride=*/1, /*padding=*/kernel_ / 2);
}

UpConvImpl::UpConvImpl(std::int64_t in, std::int64_t out, std::int64_t factor) : factor_(factor) {
  weight = register_parameter("weight", torch::empty({in, out, 1, factor, factor}));
  bias = register_parameter("bias", torch::empty({out}));
  // torch computes a transposed convolution's fan-in from weight.size(1) = out channels.
  default_init(weight, bias, out * factor * factor);
}

torch::Tensor UpConvImpl::forward(const torch::Tensor& x) {
  return torch::conv_transpose2d(x, weight.squeeze(2), bias, /*stride=*/factor_);
}

}  // namespace lidere::readout
