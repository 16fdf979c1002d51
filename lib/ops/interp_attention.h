// The interpolation-attention op: a batch-shared additive prior plus content attention,
// softmax over the sources, weighted sum of values. The single entry point every backend is
// reached through (reference here, CUDA kernels in lib/ops/cuda).
//
//   logit[b,h,s,t] = prior[h,s,t] + q[.,t,h,:] . k[b,s,h,:]      (no 1/sqrt(d), as released)
//   out[b,t,h,:]   = sum_s softmax_s(logit[b,h,:,t]) * v[b,s,h,:]
//
// Shapes (S sources = feature tokens, T targets = base-grid tokens, H heads):
//   prior  (H, S, T)        shared by the whole batch
//   q      (H, Dk)          one query per head, the same for every target (released readout:
//                           the query map is zero, so q = proj_q.bias);
//          (T, H, Dk)       per target, shared by the batch (positional-query variant);
//          (B, T, H, Dk)    per image and target
//   k      (B, S, H, Dk)
//   v      (B, S, H, Dv)
//   result (B, T, H, Dv)
#pragma once

#include <string>

#include <torch/types.h>

namespace lidere::ops {

enum class InterpBackend {
  kAuto,               // the best implementation for the inputs: the factorised path for constant
                       // queries (its backward fused into one kernel on CUDA); where it does not apply
                       // or its softmax denominators would underflow, the CUDA online-softmax kernels
                       // for CUDA tensors and the reference otherwise
  kReference,          // plain ATen ops with autograd: the oracle every fast path is tested against
  kFactorized,         // constant queries (H, Dk) only: two GEMMs against exp(prior - max), never
                       // materialising (B, H, S, T); any device, autograd (interp_attention_factorized.cpp)
  kCudaOnlineSoftmax,  // CUDA online-softmax kernels, forward and backward, any query form; float32 and
                       // float64, bfloat16/float16 computed in float32 (lib/ops/cuda)
};

// "auto", "reference", "factorized", "cuda" -> backend; anything else is a UsageError.
InterpBackend parse_interp_backend(const std::string& name);

torch::Tensor interp_attention(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, InterpBackend backend = InterpBackend::kAuto);

// The attention weights softmax_s(logit), shape (B, H, S, T), for inspection and tests.
torch::Tensor interp_attention_weights(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k);

// Frees what the op keeps between calls: exp(prior - max) of the last prior seen without gradient
// (inference reuses it while the same prior comes back; it is the prior's size). The trainer calls
// this after each validation so that training does not carry it.
void release_cached_state();

// Whether this build contains the CUDA kernels (LIDERE_CUDA).
bool cuda_kernels_compiled();

}  // namespace lidere::ops
