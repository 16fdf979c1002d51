// Backward of the online-softmax interp_attention. The attention weights are recomputed from the
// forward's log-sum-exp (never stored): P = exp(logit - lse), dP = grad_out · v,
// dS = P (dP - delta) with delta = grad_out · out, then
//   grad_prior[h,s,t] = sum_b dS        grad_q[b,t,h] = sum_s dS k        (kernel 1)
//   grad_k[b,s,h]     = sum_t dS q      grad_v[b,s,h] = sum_t P grad_out  (kernel 2)
// Every sum is formed by one thread in a fixed order and nothing is accumulated with atomics, so
// the gradients are deterministic run to run. grad_q comes as one partial sum per chunk of
// sources, which the host adds up.
#include <cuda_runtime.h>

#include "ops/cuda/interp_attention_params.h"
#include "ops/cuda/softmax_math.cuh"

namespace lidere::ops::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kChunk = kBackwardSourceChunk;  // sources per block of kernel 1, held in registers
constexpr int kTargetTile = 32;               // targets per shared-memory tile of kernel 2

// Kernel 1: one thread per (head, target) and a chunk of sources; loops over the whole batch so
// that the prior gradient's batch sum stays in registers.
template <typename T, int DK, int DV>
__global__ void __launch_bounds__(kThreads) prior_and_query_grad_kernel(InterpAttentionParams p) {
  using M = SoftmaxMath<T>;
  constexpr int MK = DK > 0 ? DK : kMaxKeyDim;
  constexpr int MV = DV > 0 ? DV : kMaxValueDim;
  const int dk = DK > 0 ? DK : static_cast<int>(p.key_dim);
  const int dv = DV > 0 ? DV : static_cast<int>(p.value_dim);
  const auto* prior = static_cast<const T*>(p.prior);
  const auto* q = static_cast<const T*>(p.q);
  const auto* k = static_cast<const T*>(p.k);
  const auto* v = static_cast<const T*>(p.v);
  const auto* grad_out = static_cast<const T*>(p.grad_out);
  const auto* delta = static_cast<const T*>(p.delta);
  const auto* lse = static_cast<const T*>(p.lse);

  const std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const std::int64_t s0 = static_cast<std::int64_t>(blockIdx.y) * kChunk;
  const std::int64_t h = blockIdx.z;
  const bool active = t < p.targets;
  const int chunk = static_cast<int>(p.sources - s0 < kChunk ? p.sources - s0 : kChunk);

  T prior_logit[kChunk], grad_prior[kChunk];
#pragma unroll
  for (int j = 0; j < kChunk; ++j) {
    prior_logit[j] = (active && j < chunk) ? prior[(h * p.sources + s0 + j) * p.targets + t] : T(0);
    grad_prior[j] = 0;
  }

  __shared__ T key_tile[kChunk][MK];
  __shared__ T value_tile[kChunk][MV];
  for (std::int64_t b = 0; b < p.batch; ++b) {
    __syncthreads();
    for (int idx = threadIdx.x; idx < chunk * (dk + dv); idx += kThreads) {
      const int j = idx / (dk + dv), d = idx % (dk + dv);
      const std::int64_t row = (b * p.sources + s0 + j) * p.heads + h;
      if (d < dk) {
        key_tile[j][d] = k[row * dk + d];
      } else {
        value_tile[j][d - dk] = v[row * dv + (d - dk)];
      }
    }
    __syncthreads();
    if (!active) continue;

    T query[MK], go[MV], grad_query[MK];
#pragma unroll
    for (int d = 0; d < MK; ++d) {
      query[d] = d < dk ? q[b * p.q_stride_b + t * p.q_stride_t + h * p.q_stride_h + d] : T(0);
      grad_query[d] = 0;
    }
    const T* g = grad_out + ((b * p.targets + t) * p.heads + h) * dv;
#pragma unroll
    for (int d = 0; d < MV; ++d) go[d] = d < dv ? g[d] : T(0);
    const T log_norm = lse[(b * p.heads + h) * p.targets + t];
    const T dlt = delta[(b * p.targets + t) * p.heads + h];

#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      if (j >= chunk) break;
      T content = 0, dP = 0;
#pragma unroll
      for (int d = 0; d < MK; ++d) {
        if (d < dk) content += query[d] * key_tile[j][d];
      }
#pragma unroll
      for (int d = 0; d < MV; ++d) {
        if (d < dv) dP += go[d] * value_tile[j][d];
      }
      const T P = M::exp(prior_logit[j] + content - log_norm);
      const T dS = P * (dP - dlt);
      grad_prior[j] += dS;
#pragma unroll
      for (int d = 0; d < MK; ++d) {
        if (d < dk) grad_query[d] += dS * key_tile[j][d];
      }
    }
    T* gq = static_cast<T*>(p.grad_q_partial) +
            (((static_cast<std::int64_t>(blockIdx.y) * p.batch + b) * p.targets + t) * p.heads + h) * dk;
#pragma unroll
    for (int d = 0; d < MK; ++d) {
      if (d < dk) gq[d] = grad_query[d];
    }
  }
  if (!active) return;
  auto* gp = static_cast<T*>(p.grad_prior);
#pragma unroll
  for (int j = 0; j < kChunk; ++j) {
    if (j < chunk) gp[(h * p.sources + s0 + j) * p.targets + t] = grad_prior[j];
  }
}

// Kernel 2: one thread per (image, head, source); targets streamed through shared memory, the
// prior tile loaded along targets (coalesced) and read along sources (padded: no bank conflicts).
template <typename T, int DK, int DV>
__global__ void __launch_bounds__(kThreads) key_value_grad_kernel(InterpAttentionParams p) {
  using M = SoftmaxMath<T>;
  constexpr int MK = DK > 0 ? DK : kMaxKeyDim;
  constexpr int MV = DV > 0 ? DV : kMaxValueDim;
  const int dk = DK > 0 ? DK : static_cast<int>(p.key_dim);
  const int dv = DV > 0 ? DV : static_cast<int>(p.value_dim);
  const auto* prior = static_cast<const T*>(p.prior);
  const auto* q = static_cast<const T*>(p.q);
  const auto* k = static_cast<const T*>(p.k);
  const auto* v = static_cast<const T*>(p.v);
  const auto* grad_out = static_cast<const T*>(p.grad_out);
  const auto* delta = static_cast<const T*>(p.delta);
  const auto* lse = static_cast<const T*>(p.lse);

  const std::int64_t s_first = static_cast<std::int64_t>(blockIdx.x) * kThreads;
  const std::int64_t s = s_first + threadIdx.x;
  const std::int64_t h = blockIdx.y;
  const std::int64_t b = blockIdx.z;
  const bool active = s < p.sources;
  const std::int64_t row = (b * p.sources + s) * p.heads + h;

  T key[MK], value[MV], grad_key[MK], grad_value[MV];
#pragma unroll
  for (int d = 0; d < MK; ++d) {
    key[d] = (active && d < dk) ? k[row * dk + d] : T(0);
    grad_key[d] = 0;
  }
#pragma unroll
  for (int d = 0; d < MV; ++d) {
    value[d] = (active && d < dv) ? v[row * dv + d] : T(0);
    grad_value[d] = 0;
  }

  __shared__ T prior_tile[kThreads][kTargetTile + 1];
  __shared__ T query_tile[kTargetTile][MK];
  __shared__ T go_tile[kTargetTile][MV];
  __shared__ T norm_tile[kTargetTile], delta_tile[kTargetTile];
  for (std::int64_t t0 = 0; t0 < p.targets; t0 += kTargetTile) {
    const int tile = static_cast<int>(p.targets - t0 < kTargetTile ? p.targets - t0 : kTargetTile);
    // Sums over a tile first, then into the totals: two-level summation keeps the float32 error of
    // these long sums (T terms) at the reference's.
    T tile_key[MK], tile_value[MV];
#pragma unroll
    for (int d = 0; d < MK; ++d) tile_key[d] = 0;
#pragma unroll
    for (int d = 0; d < MV; ++d) tile_value[d] = 0;
    __syncthreads();
    for (int idx = threadIdx.x; idx < kThreads * kTargetTile; idx += kThreads) {
      const int r = idx / kTargetTile, c = idx % kTargetTile;
      const std::int64_t sr = s_first + r;
      prior_tile[r][c] = (sr < p.sources && c < tile) ? prior[(h * p.sources + sr) * p.targets + t0 + c] : T(0);
    }
    for (int idx = threadIdx.x; idx < tile * dk; idx += kThreads) {
      const int j = idx / dk, d = idx % dk;
      query_tile[j][d] = q[b * p.q_stride_b + (t0 + j) * p.q_stride_t + h * p.q_stride_h + d];
    }
    for (int idx = threadIdx.x; idx < tile * dv; idx += kThreads) {
      const int j = idx / dv, d = idx % dv;
      go_tile[j][d] = grad_out[((b * p.targets + t0 + j) * p.heads + h) * dv + d];
    }
    for (int j = threadIdx.x; j < tile; j += kThreads) {
      norm_tile[j] = lse[(b * p.heads + h) * p.targets + t0 + j];
      delta_tile[j] = delta[(b * p.targets + t0 + j) * p.heads + h];
    }
    __syncthreads();
    if (!active) continue;
    for (int j = 0; j < tile; ++j) {
      T content = 0, dP = 0;
#pragma unroll
      for (int d = 0; d < MK; ++d) {
        if (d < dk) content += query_tile[j][d] * key[d];
      }
#pragma unroll
      for (int d = 0; d < MV; ++d) {
        if (d < dv) dP += go_tile[j][d] * value[d];
      }
      const T P = M::exp(prior_tile[threadIdx.x][j] + content - norm_tile[j]);
      const T dS = P * (dP - delta_tile[j]);
#pragma unroll
      for (int d = 0; d < MV; ++d) {
        if (d < dv) tile_value[d] += P * go_tile[j][d];
      }
#pragma unroll
      for (int d = 0; d < MK; ++d) {
        if (d < dk) tile_key[d] += dS * query_tile[j][d];
      }
    }
#pragma unroll
    for (int d = 0; d < MK; ++d) grad_key[d] += tile_key[d];
#pragma unroll
    for (int d = 0; d < MV; ++d) grad_value[d] += tile_value[d];
  }
  if (!active) return;
  auto* gk = static_cast<T*>(p.grad_k) + row * dk;
  auto* gv = static_cast<T*>(p.grad_v) + row * dv;
#pragma unroll
  for (int d = 0; d < MK; ++d) {
    if (d < dk) gk[d] = grad_key[d];
  }
#pragma unroll
  for (int d = 0; d < MV; ++d) {
    if (d < dv) gv[d] = grad_value[d];
  }
}

template <typename T, int DK, int DV>
int launch(const InterpAttentionParams& p, cudaStream_t stream) {
  const dim3 grid1(static_cast<unsigned>((p.targets + kThreads - 1) / kThreads),
                   static_cast<unsigned>((p.sources + kChunk - 1) / kChunk), static_cast<unsigned>(p.heads));
  prior_and_query_grad_kernel<T, DK, DV><<<grid1, kThreads, 0, stream>>>(p);
  if (const cudaError_t rc = cudaGetLastError(); rc != cudaSuccess) return static_cast<int>(rc);
  const dim3 grid2(static_cast<unsigned>((p.sources + kThreads - 1) / kThreads), static_cast<unsigned>(p.heads),
                   static_cast<unsigned>(p.batch));
  key_value_grad_kernel<T, DK, DV><<<grid2, kThreads, 0, stream>>>(p);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int launch_interp_attention_backward(const InterpAttentionParams& params, ElementType type, void* stream) {
  auto* s = static_cast<cudaStream_t>(stream);
  if (type == ElementType::kFloat64) return launch<double, 0, 0>(params, s);
  if (params.key_dim == 2 && params.value_dim == 16) return launch<float, 2, 16>(params, s);
  if (params.key_dim == 8 && params.value_dim == 8) return launch<float, 8, 8>(params, s);
  return launch<float, 0, 0>(params, s);
}

}  // namespace lidere::ops::cuda
