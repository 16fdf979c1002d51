// The factorised path's backward for the prior and the source weights (see
// interp_attention_params.h, FactorizedBackwardParams): a 64 x 64 (source, target) tile per block,
// 4 x 4 neighbouring elements per thread (one 16-byte shared-memory read of 4 values and 4 of G
// per 16 multiply-adds), images streamed through shared memory one at a time. Per image and
// element the bracket x = v·G - r costs Dv + 1 multiply-adds; the (B, H, S, T) brackets are never
// stored. E is read once into registers and the prior gradient written over it.
#include <cuda_runtime.h>

#include "ops/cuda/interp_attention_params.h"

namespace lidere::ops::cuda {
namespace {

constexpr int kTile = kFactorizedTile;
constexpr int kSide = 16;            // threads per side of the block
constexpr int kPer = kTile / kSide;  // elements per thread along each side

// Four consecutive shared-memory values (16-byte aligned for float: one vector load).
template <typename T>
__device__ inline void load4(const T* p, T (&x)[kPer]) {
#pragma unroll
  for (int i = 0; i < kPer; ++i) x[i] = p[i];
}
template <>
__device__ inline void load4<float>(const float* p, float (&x)[kPer]) {
  const float4 f = *reinterpret_cast<const float4*>(p);
  x[0] = f.x;
  x[1] = f.y;
  x[2] = f.z;
  x[3] = f.w;
}

// MAXV: the largest value width the instance takes (its shared tiles and prefetch registers).
template <typename T, int MAXV>
__global__ void __launch_bounds__(kSide* kSide, 2) factorized_backward_kernel(FactorizedBackwardParams p) {
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kSide + tx;
  const std::int64_t t0 = static_cast<std::int64_t>(blockIdx.x) * kTile;
  const std::int64_t s0 = static_cast<std::int64_t>(blockIdx.y) * kTile;
  const std::int64_t h = blockIdx.z;
  const std::int64_t S = p.sources, Tn = p.targets, B = p.batch;
  const int dv = static_cast<int>(p.value_dim);
  auto* E = static_cast<T*>(p.E);
  const auto* v = static_cast<const T*>(p.v);
  const auto* w = static_cast<const T*>(p.w);
  const auto* G = static_cast<const T*>(p.G);
  const auto* r = static_cast<const T*>(p.r);
  auto* dw_partial = static_cast<T*>(p.dw_partial);

  // Element (i, j) of this thread: source s0 + 4 ty + i, target t0 + 4 tx + j (a half warp spans
  // 64 consecutive targets: coalesced reads and writes of E).
  T e[kPer][kPer], acc[kPer][kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const std::int64_t s = s0 + kPer * ty + i, t = t0 + kPer * tx + j;
      e[i][j] = (s < S && t < Tn) ? E[(h * S + s) * Tn + t] : T(0);
      acc[i][j] = 0;
    }
  }

  __shared__ __align__(16) T v_tile[MAXV][kTile];  // transposed: thread reads along the tile
  __shared__ __align__(16) T g_tile[MAXV][kTile];
  __shared__ T w_tile[kTile], r_tile[kTile];

  // Image b + 1's share of the tiles is loaded into registers while image b is computed, so the
  // global loads' latency hides behind the arithmetic (one image is only ~350 instructions).
  constexpr int kThreads = kSide * kSide, kLoads = kTile * MAXV / kThreads;
  T next_v[kLoads], next_g[kLoads], next_w = 0, next_r = 0;
  const auto fetch = [&](std::int64_t b) {
    const std::int64_t hb = h * B + b;
#pragma unroll
    for (int m = 0; m < kLoads; ++m) {
      const int idx = tid + kThreads * m, row = idx % kTile, d = idx / kTile;
      const std::int64_t s = s0 + row, t = t0 + row;
      next_v[m] = (d < dv && s < S) ? v[(hb * S + s) * dv + d] : T(0);
      next_g[m] = (d < dv && t < Tn) ? G[(hb * Tn + t) * dv + d] : T(0);
    }
    if (tid < kTile) {
      next_w = s0 + tid < S ? w[hb * S + s0 + tid] : T(0);
      next_r = t0 + tid < Tn ? r[hb * Tn + t0 + tid] : T(0);
    }
  };
  if (B > 0) fetch(0);
  for (std::int64_t b = 0; b < B; ++b) {
    __syncthreads();  // the previous image's tiles are no longer read
#pragma unroll
    for (int m = 0; m < kLoads; ++m) {
      const int idx = tid + kThreads * m;
      if (idx / kTile < dv) {
        v_tile[idx / kTile][idx % kTile] = next_v[m];
        g_tile[idx / kTile][idx % kTile] = next_g[m];
      }
    }
    if (tid < kTile) {
      w_tile[tid] = next_w;
      r_tile[tid] = next_r;
    }
    __syncthreads();
    if (b + 1 < B) fetch(b + 1);

    T x[kPer][kPer];
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
#pragma unroll
      for (int j = 0; j < kPer; ++j) x[i][j] = 0;
    }
    for (int d = 0; d < dv; ++d) {
      T a[kPer], g[kPer];
      load4(&v_tile[d][kPer * ty], a);
      load4(&g_tile[d][kPer * tx], g);
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
#pragma unroll
        for (int j = 0; j < kPer; ++j) x[i][j] += a[i] * g[j];
      }
    }
    T part[kPer];
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const T wi = w_tile[kPer * ty + i];
      part[i] = 0;
#pragma unroll
      for (int j = 0; j < kPer; ++j) {
        const T xb = x[i][j] - r_tile[kPer * tx + j];
        acc[i][j] += wi * xb;
        part[i] += e[i][j] * xb;
      }
      // Sum over the 16 threads of this source row (lanes tx = 0..15 of a half warp).
#pragma unroll
      for (int offset = kSide / 2; offset > 0; offset /= 2) part[i] += __shfl_xor_sync(0xffffffffu, part[i], offset);
    }
    if (tx == 0) {
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const std::int64_t s = s0 + kPer * ty + i;
        if (s < S) dw_partial[((static_cast<std::int64_t>(blockIdx.x) * p.heads + h) * B + b) * S + s] = part[i];
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const std::int64_t s = s0 + kPer * ty + i, t = t0 + kPer * tx + j;
      if (s < S && t < Tn) E[(h * S + s) * Tn + t] = e[i][j] * acc[i][j];
    }
  }
}

}  // namespace

int launch_factorized_backward(const FactorizedBackwardParams& p, ElementType type, void* stream) {
  const dim3 grid(static_cast<unsigned>((p.targets + kTile - 1) / kTile),
                  static_cast<unsigned>((p.sources + kTile - 1) / kTile), static_cast<unsigned>(p.heads));
  const dim3 block(kSide, kSide);
  auto* s = static_cast<cudaStream_t>(stream);
  if (type == ElementType::kFloat64) {
    factorized_backward_kernel<double, kMaxValueDim><<<grid, block, 0, s>>>(p);
  } else if (p.value_dim <= 16) {
    factorized_backward_kernel<float, 16><<<grid, block, 0, s>>>(p);
  } else {
    factorized_backward_kernel<float, kMaxValueDim><<<grid, block, 0, s>>>(p);
  }
  return static_cast<int>(cudaGetLastError());
}

}  // namespace lidere::ops::cuda
