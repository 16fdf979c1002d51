// The factorised path for a query that is the same for every target (the released readout):
// the content logit a[b,h,s] = q[h] . k[b,s,h] then depends on the source only, and
//
//   softmax_s(I[h,s,t] + a[b,h,s]) = E[h,s,t] w[h,s,b] / sum_s' E[h,s',t] w[h,s',b]
//   E = exp(I - max_s I)   (H, S, T), shared by the batch
//   w = exp(a - max_s a)   (H, S, B)
//
// so out[b,t,h,:] = (E^T (w v)) / (E^T w): one batched GEMM over the heads with the batch folded
// into the columns, instead of a (B, H, S, T) softmax. Exact in exact arithmetic; memory O(H S T)
// whatever the batch. The maxima are constants for the gradient (softmax is shift-invariant).
//
// The backward pass is written out rather than left to autograd: autograd would sum the two
// terms of the softmax gradient, v.g and o.g, over the batch separately and subtract the sums,
// cancelling large numbers (float32 prior gradients came out 2.5x less accurate than the
// reference's). Here they are subtracted per image, as the softmax backward does, and the
// (H, S, T) result is accumulated image by image.
//
// Both factors are at most 1 with a 1 somewhere, but their product can underflow where the
// largest prior and the largest content logit sit at different, far-apart sources; the caller
// checks denominators_ok() and falls back to the reference.
#include <mutex>

#include <torch/autograd.h>

#include "ops/interp_attention_impl.h"

namespace lidere::ops::detail {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// E = exp(prior - max_s prior) and the maxima (H, 1, T). Where no gradient can flow to the prior
// (inference), the last result is kept and reused while the same prior tensor, unmodified, comes
// back: the readout caches its prior matrix, so prediction computes E once per input size.
struct ExpPrior {
  torch::Tensor E, max;
};
struct ExpPriorCache {
  std::mutex mutex;
  torch::Tensor prior;
  std::uint32_t version = 0;
  ExpPrior value;
};
ExpPriorCache& exp_prior_cache() {
  // Never destroyed: CUDA tensors must not be freed by static destructors after the runtime has
  // shut down.
  static auto* cache = new ExpPriorCache;
  return *cache;
}

// `cacheable`: decided by the caller before entering the autograd Function, inside whose forward
// grad mode is always off.
ExpPrior exp_prior(const torch::Tensor& prior, bool cacheable) {
  ExpPriorCache* cache = &exp_prior_cache();
  std::lock_guard<std::mutex> lock(cache->mutex);
  if (cacheable && cache->prior.defined() && cache->prior.is_same(prior) && cache->version == prior._version()) {
    return cache->value;
  }
  torch::NoGradGuard no_grad;  // the autograd Function below differentiates through E itself
  const torch::Tensor max = std::get<0>(prior.max(1, true));
  ExpPrior result{(prior - max).exp_(), max};  // in place: one (H, S, T) buffer, not two
  if (cacheable) {
    cache->prior = prior;
    cache->version = prior._version();
    cache->value = result;
  }
  return result;
}

class FactorizedAttention : public torch::autograd::Function<FactorizedAttention> {
 public:
  // Returns out (B, T, H, Dv) and the denominators (H, T, B, 1) (not differentiable).
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& prior, const torch::Tensor& q,
                               const torch::Tensor& k, const torch::Tensor& v, bool cache_exp_prior) {
    const auto H = prior.size(0), T = prior.size(2);
    const auto S = prior.size(1), B = k.size(0), Dv = v.size(3);
    const torch::Tensor a = torch::einsum("hd,bshd->hsb", {q, k});        // (H, S, B)
    const torch::Tensor w = torch::exp(a - std::get<0>(a.max(1, true)));  // (H, S, B)
    const ExpPrior e = exp_prior(prior, cache_exp_prior);                 // E (H, S, T)
    const torch::Tensor vh = v.permute({2, 1, 0, 3});                     // (H, S, B, Dv)
    const torch::Tensor wv = (w.unsqueeze(-1) * vh).reshape({H, S, B * Dv});
    // (W^T E)^T rather than E^T W: E (the prior's size) stays the untransposed operand, so no GEMM
    // path can make a transposed copy of it.
    const torch::Tensor W = torch::cat({wv, w}, 2);                                             // (H, S, B*Dv + B)
    const torch::Tensor both = torch::matmul(W.transpose(1, 2), e.E).transpose(1, 2);           // (H, T, B*Dv + B)
    const torch::Tensor denominator = both.slice(2, B * Dv).unsqueeze(-1);                      // (H, T, B, 1)
    const torch::Tensor out_h = both.slice(2, 0, B * Dv).reshape({H, T, B, Dv}) / denominator;  // (H, T, B, Dv)
    // E is not kept for the backward pass (it is the size of the prior); the maxima are.
    ctx->save_for_backward({q, k, vh, prior, e.max, w, denominator, out_h});
    ctx->mark_non_differentiable({denominator});
    return {out_h.permute({2, 1, 0, 3}), denominator};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &vh = saved[2], &prior = saved[3], &prior_max = saved[4];
    const torch::Tensor &w = saved[5], &denominator = saved[6], &out_h = saved[7];
    const auto H = prior.size(0), S = prior.size(1), T = prior.size(2), B = w.size(2), Dv = vh.size(3);
    const torch::Tensor E = (prior - prior_max).exp_();
    const torch::Tensor g = grads[0].permute({2, 1, 0, 3});                 // (H, T, B, Dv)
    const torch::Tensor G = g / denominator;                                // (H, T, B, Dv)
    const torch::Tensor r = (g * out_h).sum(-1) / denominator.squeeze(-1);  // (H, T, B)
    // d out / d v: w[h,s,b] sum_t E[h,s,t] G[h,t,b,:]
    const torch::Tensor dv_h = w.unsqueeze(-1) * torch::matmul(E, G.reshape({H, T, B * Dv})).reshape({H, S, B, Dv});
    // X_b[h,s,t] = v[b,s,h].G[h,t,b] - r[h,t,b]: the softmax gradient's bracket, per image.
    torch::Tensor d_prior, dw;
#ifdef LIDERE_WITH_CUDA
    if (E.is_cuda()) {
      // One fused kernel: no (H, S, T) temporary per image; the prior gradient replaces E.
      const FactorizedGradients fused = factorized_backward_cuda(E, vh.permute({0, 2, 1, 3}), w.permute({0, 2, 1}),
                                                                 G.permute({0, 2, 1, 3}), r.permute({0, 2, 1}));
      d_prior = fused.prior;
      dw = fused.w.permute({0, 2, 1});  // (H, S, B)
    }
#endif
    if (!d_prior.defined()) {
      torch::Tensor dE = torch::zeros_like(E);
      dw = torch::empty_like(w);
      for (std::int64_t b = 0; b < B; ++b) {
        const torch::Tensor X =
            torch::matmul(vh.select(2, b), G.select(2, b).transpose(1, 2)) - r.select(2, b).unsqueeze(1);
        dE.add_(X * w.select(2, b).unsqueeze(-1));
        dw.select(2, b).copy_((X * E).sum(-1));
      }
      d_prior = E * dE;  // through E = exp(prior - max)
    }
    const torch::Tensor da = w * dw;  // through w = exp(a - max), a = q . k
    // dq sums B*S terms that cancel exactly (sum_s da = 0, as for any softmax gradient): formed in
    // float64, it keeps the reference's float32 accuracy; the operands are small.
    const torch::Tensor dq =
        da.scalar_type() == torch::kFloat32
            ? torch::einsum("hsb,bshd->hd", {da.to(torch::kFloat64), k.to(torch::kFloat64)}).to(torch::kFloat32)
            : torch::einsum("hsb,bshd->hd", {da, k});
    const torch::Tensor dk = torch::einsum("hsb,hd->bshd", {da, q});
    return {d_prior, dq, dk, dv_h.permute({2, 1, 0, 3}), torch::Tensor()};
  }
};

}  // namespace

FactorizedResult interp_attention_factorized(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v) {
  // Inference only: while a gradient can reach the prior, it changes every step and E is not kept.
  const bool cacheable = !(torch::GradMode::is_enabled() && prior.requires_grad());
  const variable_list result = FactorizedAttention::apply(prior, q, k, v, cacheable);
  return {result[0], result[1]};
}

void release_exp_prior_cache() {
  ExpPriorCache& cache = exp_prior_cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.prior = torch::Tensor();
  cache.value = ExpPrior{};
}

bool denominators_ok(const torch::Tensor& denominator) {
  // Far above the smallest normal number of the dtype (the path runs in float32 or float64), so
  // the quotient keeps full relative precision.
  const double tiny = denominator.scalar_type() == torch::kDouble ? 1e-290 : 1e-30;
  return denominator.detach().min().item<double>() > tiny;
}

}  // namespace lidere::ops::detail
