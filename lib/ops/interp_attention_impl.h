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
void release_exp_prior_cache();
// Whether every softmax denominator of the factorised path is far from underflow.
bool denominators_ok(const torch::Tensor& denominator);

#ifdef LIDERE_WITH_CUDA
// The online-softmax kernels (forward and backward; any query form): lib/ops/cuda.
torch::Tensor interp_attention_cuda(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v);
// Whether interp_attention_cuda() takes these inputs (CUDA tensors, widths within the kernel's).
bool cuda_kernel_supports(const torch::Tensor& prior, const torch::Tensor& k, const torch::Tensor& v);

// The factorised backward's fused kernel: the prior gradient E * sum_b w x_b (written over E)
// and dw (H, B, S). Inputs v (H, B, S, Dv), w (H, B, S), G (H, B, T, Dv), r (H, B, T).
struct FactorizedGradients {
  torch::Tensor prior, w;
};
FactorizedGradients factorized_backward_cuda(torch::Tensor E, const torch::Tensor& v_hbsd, const torch::Tensor& w_hbs,
                                             const torch::Tensor& G_hbtd, const torch::Tensor& r_hbt);
#endif

}  // namespace lidere::ops::detail
