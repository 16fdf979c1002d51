// Torch-free description of the interp_attention launches, shared by the host code
// (interp_attention_cuda.cpp, which sees LibTorch) and the kernels (*.cu, which do not).
#pragma once

#include <cstdint>

namespace lidere::ops::cuda {

inline constexpr int kMaxKeyDim = 16;
inline constexpr int kMaxValueDim = 32;

enum class ElementType { kFloat32, kFloat64 };

// Every launcher returns the CUDA error code of its launch (0 on success) so that the host code
// can report it with context. `stream` is a cudaStream_t.

// ---- online softmax (any query form) ---------------------------------------------------------

struct InterpAttentionParams {
  const void* prior;  // (H, S, T), contiguous
  const void* q;      // element (b, t, h, d) at b*q_stride_b + t*q_stride_t + h*q_stride_h + d
  const void* k;      // (B, S, H, Dk), contiguous
  const void* v;      // (B, S, H, Dv), contiguous
  std::int64_t batch, sources, targets, heads, key_dim, value_dim;
  std::int64_t q_stride_b, q_stride_t, q_stride_h;  // 0 where q is broadcast

  // forward
  void* out;  // (B, T, H, Dv), contiguous
  void* lse;  // (B, H, T): log sum_s exp(logit), for the backward pass

  // backward (out and lse as written by the forward)
  const void* grad_out;  // (B, T, H, Dv), contiguous
  const void* delta;     // (B, T, H): sum_d grad_out * out
  void* grad_prior;      // (H, S, T)
  void* grad_q_partial;  // (ceil(S / kBackwardSourceChunk), B, T, H, Dk): summed by the host
  void* grad_k;          // (B, S, H, Dk)
  void* grad_v;          // (B, S, H, Dv)
};

// Sources per block of the prior-gradient kernel (the grad_q_partial buffer has one slice each).
inline constexpr int kBackwardSourceChunk = 32;

int launch_interp_attention_forward(const InterpAttentionParams& params, ElementType type, void* stream);
int launch_interp_attention_backward(const InterpAttentionParams& params, ElementType type, void* stream);

// ---- factorised path (constant query): the prior gradient and the source-weight gradient ----
//
// For every head h, source s and target t, with per-image x_b = v[b,s]·G[b,t] - r[b,t]:
//   grad_prior[h,s,t] = E[h,s,t] * sum_b w[b,s] x_b          (written over E, in place)
//   dw_partial[tile(t), h, b, s] = sum_{t in tile} E[h,s,t] x_b
// The bracket x_b is formed per image before it is weighted and summed, as the softmax backward
// does, so no large batch sums cancel.
struct FactorizedBackwardParams {
  void* E;           // (H, S, T) exp(prior - max): read, then overwritten with grad_prior
  const void* v;     // (H, B, S, Dv)
  const void* w;     // (H, B, S)
  const void* G;     // (H, B, T, Dv)  grad_out / denominator
  const void* r;     // (H, B, T)      (grad_out · out) / denominator
  void* dw_partial;  // (ceil(T / kFactorizedTile), H, B, S)
  std::int64_t batch, sources, targets, heads, value_dim;
};

inline constexpr int kFactorizedTile = 64;

int launch_factorized_backward(const FactorizedBackwardParams& params, ElementType type, void* stream);

}  // namespace lidere::ops::cuda
