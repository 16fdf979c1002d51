// The interpolation prior's MLP over every (source, target) pair:
//   I[h, s, t] = exp(skip(x)) + exp(net(x)),  x = (dx, dy, dx^2, dy^2) of src[s] - tgt[t],
//   net = Linear(4, 32) -> sin -> Linear(32, 32) -> sin -> Linear(32, heads).
// Two implementations: the ATen reference (cpu/interpolation_prior_reference.cpp, any device, the
// oracle the kernel is tested against) and one fused CUDA kernel (forward and backward) that never
// stores the hidden activations. readout/interpolation_prior.cpp uses the kernel for CUDA weights
// and the reference everywhere else.
#pragma once

#include <torch/types.h>

namespace lidere::ops {

struct PriorMlpWeights {
  torch::Tensor w1, b1, w2, b2, w3, b3, skip;  // torch Linear layout: (32,4) (32) (32,32) (32) (H,32) (H) (H,4)
};

// (S, T, 4) pair features [dx, dy, dx^2, dy^2] with d = src[s] - tgt[t], for coordinates
// src (S, 2) and tgt (T, 2): the reference's input.
torch::Tensor pair_offsets(const torch::Tensor& src, const torch::Tensor& tgt);

// The reference: I (heads, S, T) from the pair features (S, T, 4) with ATen ops (differentiable
// by autograd with respect to the weights).
torch::Tensor interpolation_prior_reference(const torch::Tensor& offsets, const PriorMlpWeights& weights);

// Whether the fused kernel takes these weights: a CUDA build, CUDA float32/float64 weights,
// 32 hidden units and at most 16 heads.
bool fused_prior_supported(const PriorMlpWeights& weights);

// I (heads, S, T) for source coordinates src (S, 2) and target coordinates tgt (T, 2) in the
// weights' dtype and device; differentiable with respect to the weights (not the coordinates).
torch::Tensor fused_interpolation_prior(const torch::Tensor& src, const torch::Tensor& tgt,
                                        const PriorMlpWeights& weights);

}  // namespace lidere::ops
