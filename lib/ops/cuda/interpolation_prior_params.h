// Torch-free description of the fused interpolation-prior kernels (interpolation_prior.cu):
//   I[h, s, t] = exp(skip(x)) + exp(net(x)),  x = (dx, dy, dx^2, dy^2) = f(src[s] - tgt[t]),
//   net = Linear(4, 32) -> sin -> Linear(32, 32) -> sin -> Linear(32, heads), skip = Linear(4, heads).
// Weights follow torch's Linear layout (out, in). The forward never stores the MLP's hidden
// activations; the backward recomputes them per pair and reduces the weight gradients inside
// each block, writing one partial row per block that the host sums (no atomics: deterministic).
#pragma once

#include <cstdint>

#include "ops/cuda/interp_attention_params.h"

namespace lidere::ops::cuda {

inline constexpr int kPriorHidden = 32;
inline constexpr int kPriorMaxHeads = 16;
inline constexpr int kPriorBackwardBlocks = 512;  // fixed: the partial sums' order is device-independent

struct PriorParams {
  const void* src;                                 // (S, 2) normalised coordinates
  const void* tgt;                                 // (T, 2)
  const void *w1, *b1, *w2, *b2, *w3, *b3, *skip;  // (32,4) (32) (32,32) (32) (H,32) (H) (H,4)
  std::int64_t sources, targets, heads;
  void* prior;             // forward: (H, S, T) output
  const void* grad_prior;  // backward: (H, S, T)
  void* grad_partial;      // backward: (kPriorBackwardBlocks, prior_parameter_count(heads))
};

// Number of weights, in the order w1, b1, w2, b2, w3, b3, skip.
constexpr std::int64_t prior_parameter_count(std::int64_t heads) {
  return kPriorHidden * 4 + kPriorHidden + kPriorHidden * kPriorHidden + kPriorHidden + heads * kPriorHidden + heads +
         heads * 4;
}

int launch_prior_forward(const PriorParams& params, ElementType type, void* stream);
int launch_prior_backward(const PriorParams& params, ElementType type, void* stream);

}  // namespace lidere::ops::cuda
