#include "backbones/efficientnet.h"

#include <fmt/format.h>
#include <torch/nn/functional/normalization.h>
#include <torch/nn/functional/padding.h>

#include "core/errors.h"
#include "core/state_dict.h"
#include "core/tensor_file.h"

namespace lidere::backbones {
namespace {

struct BlockSpec {
  std::int64_t expand, kernel, stride, in, out;
};

// EfficientNet-Lite0: the seven stages of EfficientNet-B0 (no SE), repeats 1, 2, 2, 3, 3, 4, 1.
constexpr BlockSpec kLite0[EfficientNetLiteImpl::kBlocks] = {
    {1, 3, 1, 32, 16},   {6, 3, 2, 16, 24},   {6, 3, 1, 24, 24},   {6, 5, 2, 24, 40},
    {6, 5, 1, 40, 40},   {6, 3, 2, 40, 80},   {6, 3, 1, 80, 80},   {6, 3, 1, 80, 80},
    {6, 5, 1, 80, 112},  {6, 5, 1, 112, 112}, {6, 5, 1, 112, 112}, {6, 5, 2, 112, 192},
    {6, 5, 1, 192, 192}, {6, 5, 1, 192, 192}, {6, 5, 1, 192, 192}, {6, 3, 1, 192, 320},
};
constexpr int kStride8Block = 4, kStride16Block = 10, kStride32Block = 15;
constexpr double kBatchNormEps = 1e-3;

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1,
                       std::int64_t groups = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).groups(groups).bias(false));
}

torch::nn::BatchNorm2d batch_norm(std::int64_t channels) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(channels).eps(kBatchNormEps).momentum(0.01));
}

torch::Tensor clamp_relu6(const torch::Tensor& x) { return torch::clamp(x, 0.0, 6.0); }

}  // namespace

torch::Tensor pad_same(const torch::Tensor& x, std::int64_t kernel, std::int64_t stride) {
  auto padding = [&](std::int64_t in) {
    const std::int64_t out = (in + stride - 1) / stride;
    return std::max<std::int64_t>((out - 1) * stride + kernel - in, 0);
  };
  const auto pad_h = padding(x.size(2)), pad_w = padding(x.size(3));
  if (pad_h == 0 && pad_w == 0) return x;
  namespace F = torch::nn::functional;
  return F::pad(x, F::PadFuncOptions({pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2}));
}

MBConvBlockImpl::MBConvBlockImpl(std::int64_t in, std::int64_t out, std::int64_t expand, std::int64_t kernel,
                                 std::int64_t stride)
    : kernel_(kernel), stride_(stride), residual_(stride == 1 && in == out) {
  const auto mid = in * expand;
  if (expand != 1) {
    expand_conv_ = register_module("_expand_conv", conv(in, mid, 1));
    bn0_ = register_module("_bn0", batch_norm(mid));
  }
  depthwise_conv_ = register_module("_depthwise_conv", conv(mid, mid, kernel, stride, mid));
  bn1_ = register_module("_bn1", batch_norm(mid));
  project_conv_ = register_module("_project_conv", conv(mid, out, 1));
  bn2_ = register_module("_bn2", batch_norm(out));
}

torch::Tensor MBConvBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  if (expand_conv_) h = clamp_relu6(bn0_->forward(expand_conv_->forward(h)));
  h = clamp_relu6(bn1_->forward(depthwise_conv_->forward(pad_same(h, kernel_, stride_))));
  h = bn2_->forward(project_conv_->forward(h));
  return residual_ ? h + x : h;
}

EfficientNetLiteImpl::EfficientNetLiteImpl() {
  conv_stem_ = register_module("_conv_stem", conv(3, 32, 3, 2));
  bn0_ = register_module("_bn0", batch_norm(32));
  auto blocks = register_module("_blocks", std::make_shared<torch::nn::Module>());
  for (int i = 0; i < kBlocks; ++i) {
    const auto& b = kLite0[i];
    blocks_.push_back(blocks->register_module(std::to_string(i), MBConvBlock(b.in, b.out, b.expand, b.kernel, b.stride)));
    block_out_.push_back(b.out);
  }
  conv_head_ = register_module("_conv_head", conv(320, 1280, 1));
  bn1_ = register_module("_bn1", batch_norm(1280));
  fc_ = register_module("_fc", torch::nn::Linear(1280, 1000));
}

std::int64_t EfficientNetLiteImpl::block_channels(int block) const { return block_out_.at(static_cast<std::size_t>(block)); }

torch::Tensor EfficientNetLiteImpl::stem(const torch::Tensor& images) {
  return clamp_relu6(bn0_->forward(conv_stem_->forward(pad_same(images, 3, 2))));
}

std::vector<torch::Tensor> EfficientNetLiteImpl::forward_blocks(const torch::Tensor& images, const std::vector<int>& taps) {
  int last = -1;
  for (int t : taps) {
    if (t < 0 || t >= kBlocks) throw UsageError(fmt::format("EfficientNet-Lite: block {} does not exist (0..15)", t));
    last = std::max(last, t);
  }
  std::vector<torch::Tensor> outputs(kBlocks);
  torch::Tensor x = stem(images);
  for (int i = 0; i <= last; ++i) outputs[i] = x = blocks_[i]->forward(x);
  std::vector<torch::Tensor> out;
  for (int t : taps) out.push_back(outputs[t]);
  return out;
}

torch::Tensor EfficientNetLiteImpl::classify(const torch::Tensor& images) {
  const torch::Tensor x = forward_blocks(images, {kBlocks - 1})[0];
  const torch::Tensor head = clamp_relu6(bn1_->forward(conv_head_->forward(x)));
  return fc_->forward(head.mean({2, 3}));
}

torch::Tensor EfficientNetBackbone::normalize(const torch::Tensor& images) { return (images * 255.0 - 127.0) / 128.0; }

EfficientNetBackbone::EfficientNetBackbone(const std::string& weights)
    : EfficientNetBackbone(load_tensor_file(weights)) {}

EfficientNetBackbone::EfficientNetBackbone(const TensorFile& weights) {
  load_state_dict(*model_, weights, /*strict=*/true);
  model_->eval();  // BatchNorm with the stored running statistics
  for (auto& p : model_->parameters()) p.set_requires_grad(false);
}

std::string EfficientNetBackbone::describe() const {
  return "EfficientNet-Lite0 (ImageNet); features: blocks 4, 10, 15 (strides 8, 16, 32) on the stride-16 grid";
}

std::int64_t EfficientNetBackbone::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : model_->parameters()) n += p.numel();
  return n;
}

FeatureShape EfficientNetBackbone::feature_shape(std::int64_t rows, std::int64_t cols) const {
  if (rows <= 0 || cols <= 0 || rows % 32 != 0 || cols % 32 != 0) {
    throw UsageError(fmt::format("input size {}x{} is not a multiple of 32, which EfficientNet-Lite needs for its "
                                 "stride-32 stage (e.g. {}x{})",
                                 rows, cols, std::max<std::int64_t>(32, rows / 32 * 32),
                                 std::max<std::int64_t>(32, cols / 32 * 32)));
  }
  const auto& m = *model_;
  return {m.block_channels(kStride8Block) + m.block_channels(kStride16Block) + m.block_channels(kStride32Block),
          {rows / 16, cols / 16}};
}

torch::Tensor EfficientNetBackbone::features(const torch::Tensor& images) {
  const FeatureShape shape = feature_shape(images.size(2), images.size(3));
  const auto stages = model_->forward_blocks(normalize(images), {kStride8Block, kStride16Block, kStride32Block});
  namespace F = torch::nn::functional;
  const auto l2 = [](const torch::Tensor& t) { return F::normalize(t, F::NormalizeFuncOptions().p(2).dim(1)); };
  const torch::Tensor s8 = torch::avg_pool2d(stages[0], 2);
  const torch::Tensor s32 = at::upsample_bilinear2d(stages[2], {shape.grid.rows, shape.grid.cols}, /*align_corners=*/false);
  return torch::cat({l2(s8), l2(stages[1]), l2(s32)}, 1);
}

}  // namespace lidere::backbones
