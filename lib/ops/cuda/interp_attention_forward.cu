// Online-softmax forward of interp_attention for any query form: one thread per (head, target)
// and NB images, sources streamed through shared memory in tiles. Never materialises the
// (B, H, S, T) logits. The prior is read with consecutive threads on consecutive targets (every
// read coalesced) and once for NB images, so the batch-shared matrix is not re-read per image.
//
// Key and value widths are template parameters for the released shapes (registers, full
// unrolling); any other width up to kMaxKeyDim / kMaxValueDim takes the generic instance
// (DK = DV = 0), whose loops are bounded at run time.
#include <cuda_runtime.h>

#include "ops/cuda/interp_attention_params.h"
#include "ops/cuda/softmax_math.cuh"

namespace lidere::ops::cuda {
namespace {

constexpr int kThreads = 128;    // targets per block
constexpr int kSourceTile = 64;  // sources staged in shared memory at a time

template <typename T, int DK, int DV, int NB>
__global__ void __launch_bounds__(kThreads) interp_attention_forward_kernel(InterpAttentionParams p) {
  using M = SoftmaxMath<T>;
  constexpr int MK = DK > 0 ? DK : kMaxKeyDim;
  constexpr int MV = DV > 0 ? DV : kMaxValueDim;
  const int dk = DK > 0 ? DK : static_cast<int>(p.key_dim);
  const int dv = DV > 0 ? DV : static_cast<int>(p.value_dim);
  const auto* prior = static_cast<const T*>(p.prior);
  const auto* q = static_cast<const T*>(p.q);
  const auto* k = static_cast<const T*>(p.k);
  const auto* v = static_cast<const T*>(p.v);

  const std::int64_t h = blockIdx.y;
  const std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const std::int64_t b0 = static_cast<std::int64_t>(blockIdx.z) * NB;
  const int images = static_cast<int>(p.batch - b0 < NB ? p.batch - b0 : NB);
  const bool active = t < p.targets;

  T query[NB][MK];
#pragma unroll
  for (int i = 0; i < NB; ++i) {
#pragma unroll
    for (int d = 0; d < MK; ++d) {
      query[i][d] = (active && i < images && d < dk)
                        ? q[(b0 + i) * p.q_stride_b + t * p.q_stride_t + h * p.q_stride_h + d]
                        : T(0);
    }
  }

  __shared__ T key_tile[NB][kSourceTile][MK];
  __shared__ T value_tile[NB][kSourceTile][MV];

  T running_max[NB], running_sum[NB], acc[NB][MV];
#pragma unroll
  for (int i = 0; i < NB; ++i) {
    running_max[i] = M::kLowest;
    running_sum[i] = 0;
#pragma unroll
    for (int d = 0; d < MV; ++d) acc[i][d] = 0;
  }

  for (std::int64_t s0 = 0; s0 < p.sources; s0 += kSourceTile) {
    const std::int64_t remaining = p.sources - s0;
    const int tile = remaining < kSourceTile ? static_cast<int>(remaining) : kSourceTile;
    __syncthreads();  // the previous tile is no longer read
    for (int idx = threadIdx.x; idx < images * tile * (dk + dv); idx += kThreads) {
      const int i = idx / (tile * (dk + dv));
      const int rest = idx % (tile * (dk + dv));
      const int s = rest / (dk + dv), d = rest % (dk + dv);
      const std::int64_t row = ((b0 + i) * p.sources + s0 + s) * p.heads + h;
      if (d < dk) {
        key_tile[i][s][d] = k[row * dk + d];
      } else {
        value_tile[i][s][d - dk] = v[row * dv + (d - dk)];
      }
    }
    __syncthreads();
    if (!active) continue;
    for (int s = 0; s < tile; ++s) {
      const T prior_logit = prior[(h * p.sources + s0 + s) * p.targets + t];
#pragma unroll
      for (int i = 0; i < NB; ++i) {
        if (i >= images) break;
        T logit = prior_logit;
#pragma unroll
        for (int d = 0; d < MK; ++d) {
          if (d < dk) logit += query[i][d] * key_tile[i][s][d];
        }
        if (logit > running_max[i]) {  // rare once the largest logits have been seen
          const T rescale = M::exp(running_max[i] - logit);
          running_sum[i] *= rescale;
#pragma unroll
          for (int d = 0; d < MV; ++d) acc[i][d] *= rescale;
          running_max[i] = logit;
        }
        const T weight = M::exp(logit - running_max[i]);
        running_sum[i] += weight;
#pragma unroll
        for (int d = 0; d < MV; ++d) {
          if (d < dv) acc[i][d] += weight * value_tile[i][s][d];
        }
      }
    }
  }
  if (!active) return;
  auto* out = static_cast<T*>(p.out);
  auto* lse = static_cast<T*>(p.lse);
#pragma unroll
  for (int i = 0; i < NB; ++i) {
    if (i >= images) break;
    const std::int64_t b = b0 + i;
    T* o = out + ((b * p.targets + t) * p.heads + h) * dv;
#pragma unroll
    for (int d = 0; d < MV; ++d) {
      if (d < dv) o[d] = acc[i][d] / running_sum[i];
    }
    lse[(b * p.heads + h) * p.targets + t] = M::lse(running_max[i], running_sum[i]);
  }
}

template <typename T, int DK, int DV, int NB>
int launch(const InterpAttentionParams& p, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((p.targets + kThreads - 1) / kThreads), static_cast<unsigned>(p.heads),
                  static_cast<unsigned>((p.batch + NB - 1) / NB));
  interp_attention_forward_kernel<T, DK, DV, NB><<<grid, kThreads, 0, stream>>>(p);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int launch_interp_attention_forward(const InterpAttentionParams& params, ElementType type, void* stream) {
  auto* s = static_cast<cudaStream_t>(stream);
  if (type == ElementType::kFloat64) return launch<double, 0, 0, 1>(params, s);
  // float32: the released readout's widths (key 2, value 16) and a square one get their own
  // instances, four images per thread; anything else the generic one. (A tensor-core variant, P V
  // in 3xTF32 with mma.sync, measured 2.3x slower on an H200 and less accurate: see
  // docs/performance.md.)
  if (params.key_dim == 2 && params.value_dim == 16) return launch<float, 2, 16, 4>(params, s);
  if (params.key_dim == 8 && params.value_dim == 8) return launch<float, 8, 8, 4>(params, s);
  return launch<float, 0, 0, 1>(params, s);
}

}  // namespace lidere::ops::cuda
