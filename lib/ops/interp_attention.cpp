#include "ops/interp_attention.h"

#include <optional>

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "ops/interp_attention_impl.h"

namespace lidere::ops {
namespace {

std::string shape_str(const torch::Tensor& t) { return fmt::format("{}", fmt::join(t.sizes(), "x")); }

[[noreturn]] void bad(const std::string& what) { throw Error(ExitCode::kInternal, "interp_attention: " + what); }

// Checks the shapes and dtypes documented in the header; names the offending argument.
void check_inputs(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  if (prior.dim() != 3) bad("prior must be (H, S, T), got " + shape_str(prior));
  if (k.dim() != 4) bad("k must be (B, S, H, Dk), got " + shape_str(k));
  if (v.dim() != 4) bad("v must be (B, S, H, Dv), got " + shape_str(v));
  const auto H = prior.size(0), S = prior.size(1), T = prior.size(2);
  const auto B = k.size(0), Dk = k.size(3);
  if (k.size(1) != S || k.size(2) != H) {
    bad(fmt::format("k {} does not match prior {} (S={}, H={})", shape_str(k), shape_str(prior), S, H));
  }
  if (v.size(0) != B || v.size(1) != S || v.size(2) != H) {
    bad(fmt::format("v {} does not match k {}", shape_str(v), shape_str(k)));
  }
  const bool q_ok = (q.dim() == 2 && q.size(0) == H && q.size(1) == Dk) ||
                    (q.dim() == 3 && q.size(0) == T && q.size(1) == H && q.size(2) == Dk) ||
                    (q.dim() == 4 && q.size(0) == B && q.size(1) == T && q.size(2) == H && q.size(3) == Dk);
  if (!q_ok) {
    bad(
        fmt::format("q {} must be (H, Dk), (T, H, Dk) or (B, T, H, Dk) with H={}, T={}, B={}, "
                    "Dk={}",
                    shape_str(q), H, T, B, Dk));
  }
  for (const auto* t : {&q, &k, &v}) {
    if (t->scalar_type() != prior.scalar_type() || t->device() != prior.device()) {
      bad("prior, q, k and v must share dtype and device");
    }
  }
}

// The factorised path in float32 at least (bf16/fp16 inputs: fp32 accumulation, result cast back).
detail::FactorizedResult factorized(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v) {
  const auto dtype = prior.scalar_type();
  if (dtype == torch::kDouble || dtype == torch::kFloat) return detail::interp_attention_factorized(prior, q, k, v);
  auto result = detail::interp_attention_factorized(prior.to(torch::kFloat), q.to(torch::kFloat), k.to(torch::kFloat),
                                                    v.to(torch::kFloat));
  result.out = result.out.to(dtype);
  return result;
}

}  // namespace

InterpBackend parse_interp_backend(const std::string& name) {
  if (name == "auto") return InterpBackend::kAuto;
  if (name == "reference") return InterpBackend::kReference;
  if (name == "factorized") return InterpBackend::kFactorized;
  if (name == "cuda") return InterpBackend::kCudaOnlineSoftmax;
  throw UsageError(fmt::format("interp '{}': use auto, reference, factorized or cuda", name));
}

torch::Tensor interp_attention(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, InterpBackend backend) {
  check_inputs(prior, q, k, v);
  // The fast paths compute in float32 (or float64) by design; under autocast their internal GEMMs
  // would otherwise run in bf16 and mix dtypes between the forward and the backward pass. The
  // reference keeps the framework's autocast behaviour: it is what the fast paths are measured
  // against.
  std::optional<c10::impl::ExcludeDispatchKeyGuard> no_autocast;
  if (backend != InterpBackend::kReference) no_autocast.emplace(c10::autocast_dispatch_keyset);
  switch (backend) {
    case InterpBackend::kAuto:
      if (q.dim() == 2) {
        const detail::FactorizedResult fast = factorized(prior, q, k, v);
        if (detail::denominators_ok(fast.denominator)) return fast.out;
      }
#ifdef LIDERE_WITH_CUDA
      // The online softmax has no underflow to fall back from: it takes any query form.
      if (detail::cuda_kernel_supports(prior, k, v)) return detail::interp_attention_cuda(prior, q, k, v);
#endif
      return detail::interp_attention_reference(prior, q, k, v);
    case InterpBackend::kReference:
      return detail::interp_attention_reference(prior, q, k, v);
    case InterpBackend::kFactorized:
      if (q.dim() != 2) bad("the factorised path needs one query per head, q (H, Dk); got " + shape_str(q));
      return factorized(prior, q, k, v).out;
    case InterpBackend::kCudaOnlineSoftmax:
#ifdef LIDERE_WITH_CUDA
      return detail::interp_attention_cuda(prior, q, k, v);
#else
      throw UsageError("interp_attention: this build has no CUDA kernels (LIDERE_CUDA=OFF)");
#endif
  }
  bad("unknown backend");
}

torch::Tensor interp_attention_weights(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k) {
  check_inputs(prior, q, k, k);
  return torch::softmax(prior.unsqueeze(0) + detail::content_logits(q, k), /*dim=*/2);
}

void release_cached_state() { detail::release_exp_prior_cache(); }

bool cuda_kernels_compiled() {
#ifdef LIDERE_WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace lidere::ops
