// The interpolation prior in plain ATen ops, as the official ImplicitNet computes it: every
// (source, target) pair's features through the MLP at once, (S, T, 32) hidden activations kept for
// autograd. Deliberately unoptimised; the fused CUDA kernel is tested against it.
#include <ATen/ATen.h>

#include "ops/prior_mlp.h"

namespace lidere::ops {

torch::Tensor pair_offsets(const torch::Tensor& src, const torch::Tensor& tgt) {
  const torch::Tensor diff = src.unsqueeze(1) - tgt.unsqueeze(0);  // (S, T, 2)
  return torch::cat({diff, diff.pow(2)}, 2);
}

torch::Tensor interpolation_prior_reference(const torch::Tensor& offsets, const PriorMlpWeights& w) {
  torch::Tensor hidden = torch::sin(at::linear(offsets, w.w1, w.b1));
  hidden = torch::sin(at::linear(hidden, w.w2, w.b2));
  const torch::Tensor prior = torch::exp(at::linear(offsets, w.skip)) + torch::exp(at::linear(hidden, w.w3, w.b3));
  return prior.permute({2, 0, 1});  // (S, T, heads) -> (heads, S, T)
}

}  // namespace lidere::ops
