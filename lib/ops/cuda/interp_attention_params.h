// Torch-free description of one interp_attention launch, shared by the host code
// (interp_attention_cuda.cpp, which sees LibTorch) and the kernels (*.cu, which do not).
#pragma once

#include <cstdint>

namespace lidere::ops::cuda {

inline constexpr int kMaxKeyDim = 16;
inline constexpr int kMaxValueDim = 32;

struct InterpAttentionParams {
  const void* prior;  // (H, S, T), contiguous
  const void* q;      // element (b, t, h, d) at b*q_stride_b + t*q_stride_t + h*q_stride_h + d
  const void* k;      // (B, S, H, Dk), contiguous
  const void* v;      // (B, S, H, Dv), contiguous
  void* out;          // (B, T, H, Dv), contiguous
  std::int64_t batch, sources, targets, heads, key_dim, value_dim;
  std::int64_t q_stride_b, q_stride_t, q_stride_h;  // 0 where q is broadcast
};

enum class ElementType { kFloat32, kFloat64 };

// Launches the online-softmax forward on `stream` (a cudaStream_t). Returns the CUDA error code
// of the launch (0 on success) so that the host code can report it with context.
int launch_interp_attention_forward(const InterpAttentionParams& params, ElementType type,
                                    void* stream);

}  // namespace lidere::ops::cuda
