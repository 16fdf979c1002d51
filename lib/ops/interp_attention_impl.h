// Backend functions behind lib/ops/interp_attention.h. Callers use interp_attention() only;
// these take inputs that interp_attention() has already checked.
#pragma once

#include <torch/types.h>

namespace lidere::ops::detail {

// Content logits q.k broadcast against the prior: (B, H, S, T) or (B, H, S, 1) for constant q.
torch::Tensor content_logits(const torch::Tensor& q, const torch::Tensor& k);

torch::Tensor interp_attention_reference(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                                         const torch::Tensor& v);

// The factorised path for constant queries (q of shape (H, Dk)); see
// interp_attention_factorized.cpp. `denominator` (H, T, B, 1) is returned for the underflow check.
struct FactorizedResult {
  torch::Tensor out, denominator;
};
FactorizedResult interp_attention_factorized(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v);
// Whether every softmax denominator of the factorised path is far from underflow.
bool denominators_ok(const torch::Tensor& denominator);

#ifdef LIDERE_WITH_CUDA
torch::Tensor interp_attention_cuda_forward(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                                            const torch::Tensor& v);
#endif

}  // namespace lidere::ops::detail
