// Fused interpolation prior (see interpolation_prior_params.h): one thread per (source, target)
// pair, consecutive threads on consecutive targets, so every write of I is coalesced. The weights
// (1.4k numbers) sit in shared memory; the hidden activations live in registers only.
#include <cuda_runtime.h>

#include "ops/cuda/interpolation_prior_params.h"

namespace lidere::ops::cuda {
namespace {

constexpr int kHid = kPriorHidden;
constexpr int kThreads = 128;  // pairs per block (backward: per tile)

__device__ inline float sin_of(float x) { return sinf(x); }
__device__ inline double sin_of(double x) { return sin(x); }
__device__ inline void sincos_of(float x, float* s, float* c) { sincosf(x, s, c); }
__device__ inline void sincos_of(double x, double* s, double* c) { sincos(x, s, c); }

template <typename T>
struct Weights {
  T w1[kHid][4], b1[kHid], w2[kHid][kHid], b2[kHid], w3[kPriorMaxHeads][kHid], b3[kPriorMaxHeads],
      skip[kPriorMaxHeads][4];
};

template <typename T>
__device__ void load_weights(const PriorParams& p, Weights<T>& w) {
  const int H = static_cast<int>(p.heads);
  for (int i = threadIdx.x; i < kHid * 4; i += blockDim.x) w.w1[i / 4][i % 4] = static_cast<const T*>(p.w1)[i];
  for (int i = threadIdx.x; i < kHid * kHid; i += blockDim.x) w.w2[i / kHid][i % kHid] = static_cast<const T*>(p.w2)[i];
  for (int i = threadIdx.x; i < H * kHid; i += blockDim.x) w.w3[i / kHid][i % kHid] = static_cast<const T*>(p.w3)[i];
  for (int i = threadIdx.x; i < H * 4; i += blockDim.x) w.skip[i / 4][i % 4] = static_cast<const T*>(p.skip)[i];
  for (int i = threadIdx.x; i < kHid; i += blockDim.x) {
    w.b1[i] = static_cast<const T*>(p.b1)[i];
    w.b2[i] = static_cast<const T*>(p.b2)[i];
  }
  for (int i = threadIdx.x; i < H; i += blockDim.x) w.b3[i] = static_cast<const T*>(p.b3)[i];
}

// x = (dx, dy, dx^2, dy^2) of pair (s, t), as torch's pair_offsets computes it.
template <typename T>
__device__ void pair_input(const PriorParams& p, std::int64_t pair, T x[4]) {
  const std::int64_t s = pair / p.targets, t = pair % p.targets;
  const auto* src = static_cast<const T*>(p.src);
  const auto* tgt = static_cast<const T*>(p.tgt);
  x[0] = src[s * 2] - tgt[t * 2];
  x[1] = src[s * 2 + 1] - tgt[t * 2 + 1];
  x[2] = x[0] * x[0];
  x[3] = x[1] * x[1];
}

template <typename T>
__global__ void __launch_bounds__(kThreads) prior_forward_kernel(PriorParams p) {
  __shared__ Weights<T> w;
  load_weights(p, w);
  __syncthreads();
  const std::int64_t pairs = p.sources * p.targets;
  const int H = static_cast<int>(p.heads);
  auto* prior = static_cast<T*>(p.prior);
  for (std::int64_t pair = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x; pair < pairs;
       pair += static_cast<std::int64_t>(gridDim.x) * kThreads) {
    T x[4];
    pair_input(p, pair, x);
    T h1[kHid], h2[kHid];
#pragma unroll
    for (int j = 0; j < kHid; ++j) {
      T z = w.b1[j];
#pragma unroll
      for (int i = 0; i < 4; ++i) z += w.w1[j][i] * x[i];
      h1[j] = sin_of(z);
    }
#pragma unroll
    for (int j = 0; j < kHid; ++j) {
      T z = w.b2[j];
#pragma unroll
      for (int i = 0; i < kHid; ++i) z += w.w2[j][i] * h1[i];
      h2[j] = sin_of(z);
    }
    for (int h = 0; h < H; ++h) {
      T out = w.b3[h], skip = 0;
#pragma unroll
      for (int i = 0; i < kHid; ++i) out += w.w3[h][i] * h2[i];
#pragma unroll
      for (int i = 0; i < 4; ++i) skip += w.skip[h][i] * x[i];
      prior[h * pairs + pair] = exp(skip) + exp(out);
    }
  }
}

// Backward: each block walks tiles of 128 pairs. Per tile, every thread recomputes its pair's
// forward, forms the per-pair gradients, and the block then reduces the weight gradients over
// the tile through shared memory in three phases (layer 3 and skip inputs, layer 2, layer 1),
// each thread owning a fixed set of weights and accumulating them in registers across tiles.
template <typename T>
struct BackwardShared {
  Weights<T> w;
  T buf_a[kThreads][kHid + 1], buf_b[kThreads][kHid + 1];  // padded: no bank conflicts
};

template <typename T>
__global__ void __launch_bounds__(kThreads) prior_backward_kernel(PriorParams p) {
  // Dynamic shared memory: the double instance needs more than the 48 KB of a static allocation.
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  auto& shared = *reinterpret_cast<BackwardShared<T>*>(shared_bytes);
  Weights<T>& w = shared.w;
  auto& buf_a = shared.buf_a;
  auto& buf_b = shared.buf_b;
  load_weights(p, w);
  __syncthreads();  // every thread recomputes the forward from the weights before the first phase
  const int tid = threadIdx.x;
  const int H = static_cast<int>(p.heads);
  const std::int64_t pairs = p.sources * p.targets;
  const auto* grad_prior = static_cast<const T*>(p.grad_prior);

  // Owned weights: w2 entries tid + 128 k (k < 8), w3 entries tid + 128 k (k < 4, when < 32 H),
  // w1 entry tid (128 = 32 x 4), b1/b2 entry tid (< 32), b3 entry tid (< H), skip entry tid (< 4 H).
  constexpr int kW2 = kHid * kHid / kThreads, kW3 = kPriorMaxHeads * kHid / kThreads;
  T g_w2[kW2], g_w3[kW3], g_w1 = 0, g_b1 = 0, g_b2 = 0, g_b3 = 0, g_skip = 0;
#pragma unroll
  for (int k = 0; k < kW2; ++k) g_w2[k] = 0;
#pragma unroll
  for (int k = 0; k < kW3; ++k) g_w3[k] = 0;

  for (std::int64_t base = static_cast<std::int64_t>(blockIdx.x) * kThreads; base < pairs;
       base += static_cast<std::int64_t>(gridDim.x) * kThreads) {
    const std::int64_t pair = base + tid;
    const bool valid = pair < pairs;
    T x[4] = {0, 0, 0, 0};
    if (valid) pair_input(p, pair, x);
    T h1[kHid], c1[kHid], h2[kHid], c2[kHid];
#pragma unroll
    for (int j = 0; j < kHid; ++j) {
      T z = w.b1[j];
#pragma unroll
      for (int i = 0; i < 4; ++i) z += w.w1[j][i] * x[i];
      sincos_of(z, &h1[j], &c1[j]);
    }
#pragma unroll
    for (int j = 0; j < kHid; ++j) {
      T z = w.b2[j];
#pragma unroll
      for (int i = 0; i < kHid; ++i) z += w.w2[j][i] * h1[i];
      sincos_of(z, &h2[j], &c2[j]);
    }

    // Phase A: d out_h = g_h exp(out_h), d skip_h = g_h exp(skip_h); layer 3 and skip gradients.
    __syncthreads();  // the previous tile's phase C reads are done
    T dz2[kHid];
#pragma unroll
    for (int j = 0; j < kHid; ++j) dz2[j] = 0;
    for (int h = 0; h < H; ++h) {
      T out = w.b3[h], skip = 0;
#pragma unroll
      for (int i = 0; i < kHid; ++i) out += w.w3[h][i] * h2[i];
#pragma unroll
      for (int i = 0; i < 4; ++i) skip += w.skip[h][i] * x[i];
      const T g = valid ? grad_prior[h * pairs + pair] : T(0);
      const T d_out = g * exp(out), d_skip = g * exp(skip);
      buf_b[tid][h] = d_out;
      buf_b[tid][kPriorMaxHeads + h] = d_skip;
#pragma unroll
      for (int j = 0; j < kHid; ++j) dz2[j] += w.w3[h][j] * d_out;
    }
#pragma unroll
    for (int j = 0; j < kHid; ++j) buf_a[tid][j] = h2[j];
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kW3; ++k) {
      const int e = tid + kThreads * k;
      if (e < H * kHid) {
        const int h = e / kHid, j = e % kHid;
        T sum = 0;
        for (int q = 0; q < kThreads; ++q) sum += buf_b[q][h] * buf_a[q][j];
        g_w3[k] += sum;
      }
    }
    if (tid < H) {
      T sum = 0;
      for (int q = 0; q < kThreads; ++q) sum += buf_b[q][tid];
      g_b3 += sum;
    }
    // skip (H, 4): needs the inputs, which phase C stores; keep d_skip in buf_b's upper half.
#pragma unroll
    for (int j = 0; j < kHid; ++j) dz2[j] *= c2[j];  // through sin: d z2 = d h2 cos(z2)

    // Phase B: layer 2 (dz2 x h1).
    __syncthreads();
#pragma unroll
    for (int j = 0; j < kHid; ++j) {
      buf_a[tid][j] = dz2[j];
    }
    T d_skip_own[kPriorMaxHeads];  // own row, read before it is overwritten
#pragma unroll
    for (int h = 0; h < kPriorMaxHeads; ++h) d_skip_own[h] = h < H ? buf_b[tid][kPriorMaxHeads + h] : T(0);
#pragma unroll
    for (int j = 0; j < kHid; ++j) buf_b[tid][j] = h1[j];
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kW2; ++k) {
      const int e = tid + kThreads * k;
      const int i = e / kHid, j = e % kHid;
      T sum = 0;
      for (int q = 0; q < kThreads; ++q) sum += buf_a[q][i] * buf_b[q][j];
      g_w2[k] += sum;
    }
    if (tid < kHid) {
      T sum = 0;
      for (int q = 0; q < kThreads; ++q) sum += buf_a[q][tid];
      g_b2 += sum;
    }
    T dz1[kHid];
#pragma unroll
    for (int j = 0; j < kHid; ++j) {
      T sum = 0;
#pragma unroll
      for (int i = 0; i < kHid; ++i) sum += w.w2[i][j] * dz2[i];
      dz1[j] = sum * c1[j];
    }

    // Phase C: layer 1 (dz1 x x) and skip (d_skip x x).
    __syncthreads();
#pragma unroll
    for (int j = 0; j < kHid; ++j) buf_a[tid][j] = dz1[j];
#pragma unroll
    for (int i = 0; i < 4; ++i) buf_b[tid][i] = x[i];
#pragma unroll
    for (int h = 0; h < kPriorMaxHeads; ++h) {
      if (h < H) buf_b[tid][4 + h] = d_skip_own[h];
    }
    __syncthreads();
    {
      const int i = tid / 4, j = tid % 4;  // 128 threads = 32 x 4 entries of w1
      T sum = 0;
      for (int q = 0; q < kThreads; ++q) sum += buf_a[q][i] * buf_b[q][j];
      g_w1 += sum;
    }
    if (tid < kHid) {
      T sum = 0;
      for (int q = 0; q < kThreads; ++q) sum += buf_a[q][tid];
      g_b1 += sum;
    }
    if (tid < H * 4) {
      const int h = tid / 4, j = tid % 4;
      T sum = 0;
      for (int q = 0; q < kThreads; ++q) sum += buf_b[q][4 + h] * buf_b[q][j];
      g_skip += sum;
    }
  }

  // This block's partial row: w1, b1, w2, b2, w3, b3, skip.
  T* row = static_cast<T*>(p.grad_partial) + static_cast<std::int64_t>(blockIdx.x) * prior_parameter_count(H);
  T* r_w1 = row;
  T* r_b1 = r_w1 + kHid * 4;
  T* r_w2 = r_b1 + kHid;
  T* r_b2 = r_w2 + kHid * kHid;
  T* r_w3 = r_b2 + kHid;
  T* r_b3 = r_w3 + H * kHid;
  T* r_skip = r_b3 + H;
  r_w1[tid] = g_w1;
  if (tid < kHid) {
    r_b1[tid] = g_b1;
    r_b2[tid] = g_b2;
  }
#pragma unroll
  for (int k = 0; k < kW2; ++k) r_w2[tid + kThreads * k] = g_w2[k];
#pragma unroll
  for (int k = 0; k < kW3; ++k) {
    if (tid + kThreads * k < H * kHid) r_w3[tid + kThreads * k] = g_w3[k];
  }
  if (tid < H) r_b3[tid] = g_b3;
  if (tid < H * 4) r_skip[tid] = g_skip;
}

template <typename T>
int launch_forward(const PriorParams& p, cudaStream_t stream) {
  const std::int64_t pairs = p.sources * p.targets;
  const std::int64_t blocks = (pairs + kThreads - 1) / kThreads;
  prior_forward_kernel<T><<<static_cast<unsigned>(blocks < 65535 ? blocks : 65535), kThreads, 0, stream>>>(p);
  return static_cast<int>(cudaGetLastError());
}

template <typename T>
int launch_backward(const PriorParams& p, cudaStream_t stream) {
  constexpr int bytes = static_cast<int>(sizeof(BackwardShared<T>));
  if (const cudaError_t rc =
          cudaFuncSetAttribute(prior_backward_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
      rc != cudaSuccess) {
    return static_cast<int>(rc);
  }
  prior_backward_kernel<T><<<kPriorBackwardBlocks, kThreads, bytes, stream>>>(p);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int launch_prior_forward(const PriorParams& params, ElementType type, void* stream) {
  auto* s = static_cast<cudaStream_t>(stream);
  return type == ElementType::kFloat64 ? launch_forward<double>(params, s) : launch_forward<float>(params, s);
}

int launch_prior_backward(const PriorParams& params, ElementType type, void* stream) {
  auto* s = static_cast<cudaStream_t>(stream);
  return type == ElementType::kFloat64 ? launch_backward<double>(params, s) : launch_backward<float>(params, s);
}

}  // namespace lidere::ops::cuda
