// The interpolation module (official LayerImplicitAtt, is_first=False unless positional
// queries are asked for): the learned prior as an attention bias, content attention with 2-dim
// keys over [features ; sin/cos position], 16-dim values, 8 heads, softmax over the sources,
// then the feed-forward block Linear -> ReLU -> Linear (no bias) -> LayerNorm.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "ops/interp_attention.h"
#include "readout/config.h"
#include "readout/interpolation_prior.h"

namespace lidere::readout {

class InterpolationLayerImpl : public torch::nn::Module {
 public:
  explicit InterpolationLayerImpl(const ReadoutConfig& config);

  // features: (B, dim, Hf, Wf) projected backbone features -> (B, T, dim) target tokens.
  torch::Tensor forward(const torch::Tensor& features);

  // The prior (heads, S, T) and the attention weights (B, heads, S, T) of forward(); for tests
  // and inspection (the weights are materialised, so keep the inputs small).
  torch::Tensor prior();
  torch::Tensor attention_weights(const torch::Tensor& features);

  // Rebuilds the fixed encodings in the buffers' current dtype and device (after a move to
  // float64, so that they equal an official construction in float64 rather than a cast).
  void rebuild_fixed_encodings();

  ops::InterpBackend backend = ops::InterpBackend::kAuto;

  InterpolationPrior implicit_net{nullptr};
  torch::nn::Linear proj_v{nullptr}, proj_k{nullptr}, proj_q{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  torch::Tensor feats_pe;   // (S, 16) buffer: sin/cos of the feature tokens' integer indices
  torch::Tensor q;          // (T, 16) buffer: sin/cos of 10 x the target indices (positional queries)

 private:
  torch::Tensor queries();  // (heads, key_dim) or (T, heads, key_dim)
  torch::Tensor keys(const torch::Tensor& tokens);    // (B, S, heads, key_dim)
  torch::Tensor values(const torch::Tensor& tokens);  // (B, S, heads, value_dim)
  torch::Tensor tokens_of(const torch::Tensor& features) const;  // (B, S, dim)

  ReadoutConfig config_;
};
TORCH_MODULE(InterpolationLayer);

}  // namespace lidere::readout
