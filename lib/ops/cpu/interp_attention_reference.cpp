// The reference implementation: the official formulation in plain ATen ops, differentiable by
// autograd. Deliberately unoptimised: it materialises the (B, H, S, T) logits and is the oracle
// that every fast path is compared against.
#include "ops/interp_attention_impl.h"

namespace lidere::ops::detail {

torch::Tensor content_logits(const torch::Tensor& q, const torch::Tensor& k) {
  switch (q.dim()) {
    case 2: return torch::einsum("hd,bshd->bhs", {q, k}).unsqueeze(-1);
    case 3: return torch::einsum("thd,bshd->bhst", {q, k});
    default: return torch::einsum("bthd,bshd->bhst", {q, k});
  }
}

torch::Tensor interp_attention_reference(const torch::Tensor& prior, const torch::Tensor& q,
                                         const torch::Tensor& k, const torch::Tensor& v) {
  const torch::Tensor weights = torch::softmax(prior.unsqueeze(0) + content_logits(q, k), 2);
  return torch::einsum("bshd,bhst->bthd", {v, weights});
}

}  // namespace lidere::ops::detail
