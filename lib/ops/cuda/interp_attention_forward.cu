// Online-softmax forward of interp_attention: one thread per (image, head, target), sources
// streamed through shared memory in tiles. Never materialises the (B, H, S, T) logits; the
// prior is read with consecutive threads on consecutive targets, so every read is coalesced.
#include <cuda_runtime.h>

#include <cfloat>

#include "ops/cuda/interp_attention_params.h"

namespace lidere::ops::cuda {
namespace {

constexpr int kThreads = 128;     // targets per block
constexpr int kSourceTile = 64;   // sources staged in shared memory at a time

template <typename T>
__device__ T neg_infinity();
template <>
__device__ float neg_infinity<float>() { return -FLT_MAX; }
template <>
__device__ double neg_infinity<double>() { return -DBL_MAX; }

template <typename T>
__global__ void interp_attention_forward_kernel(InterpAttentionParams p) {
  const auto* prior = static_cast<const T*>(p.prior);
  const auto* q = static_cast<const T*>(p.q);
  const auto* k = static_cast<const T*>(p.k);
  const auto* v = static_cast<const T*>(p.v);
  auto* out = static_cast<T*>(p.out);

  const std::int64_t b = blockIdx.z;
  const std::int64_t h = blockIdx.y;
  const std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const bool active = t < p.targets;
  const int dk = static_cast<int>(p.key_dim);
  const int dv = static_cast<int>(p.value_dim);

  T query[kMaxKeyDim];
  for (int d = 0; d < dk; ++d) {
    query[d] = active ? q[b * p.q_stride_b + t * p.q_stride_t + h * p.q_stride_h + d] : T(0);
  }

  __shared__ T key_tile[kSourceTile][kMaxKeyDim];
  __shared__ T value_tile[kSourceTile][kMaxValueDim];

  T running_max = neg_infinity<T>();
  T running_sum = 0;
  T acc[kMaxValueDim];
  for (int d = 0; d < dv; ++d) acc[d] = 0;

  for (std::int64_t s0 = 0; s0 < p.sources; s0 += kSourceTile) {
    const std::int64_t remaining = p.sources - s0;
    const int tile = remaining < kSourceTile ? static_cast<int>(remaining) : kSourceTile;
    __syncthreads();  // the previous tile is no longer read
    for (int i = threadIdx.x; i < tile * (dk + dv); i += kThreads) {
      const int s = i / (dk + dv), d = i % (dk + dv);
      const std::int64_t row = (b * p.sources + s0 + s) * p.heads + h;
      if (d < dk) {
        key_tile[s][d] = k[row * dk + d];
      } else {
        value_tile[s][d - dk] = v[row * dv + (d - dk)];
      }
    }
    __syncthreads();
    if (!active) continue;
    for (int s = 0; s < tile; ++s) {
      T logit = prior[(h * p.sources + s0 + s) * p.targets + t];
      for (int d = 0; d < dk; ++d) logit += query[d] * key_tile[s][d];
      if (logit > running_max) {
        const T rescale = exp(running_max - logit);
        running_sum *= rescale;
        for (int d = 0; d < dv; ++d) acc[d] *= rescale;
        running_max = logit;
      }
      const T weight = exp(logit - running_max);
      running_sum += weight;
      for (int d = 0; d < dv; ++d) acc[d] += weight * value_tile[s][d];
    }
  }
  if (!active) return;
  T* o = out + ((b * p.targets + t) * p.heads + h) * dv;
  for (int d = 0; d < dv; ++d) o[d] = acc[d] / running_sum;
}

}  // namespace

int launch_interp_attention_forward(const InterpAttentionParams& params, ElementType type,
                                    void* stream) {
  const dim3 grid(static_cast<unsigned>((params.targets + kThreads - 1) / kThreads),
                  static_cast<unsigned>(params.heads), static_cast<unsigned>(params.batch));
  auto* s = static_cast<cudaStream_t>(stream);
  if (type == ElementType::kFloat32) {
    interp_attention_forward_kernel<float><<<grid, kThreads, 0, s>>>(params);
  } else {
    interp_attention_forward_kernel<double><<<grid, kThreads, 0, s>>>(params);
  }
  return static_cast<int>(cudaGetLastError());
}

}  // namespace lidere::ops::cuda
