#include "ops/prior_mlp.h"

#include "core/errors.h"

namespace lidere::ops {

#ifdef LIDERE_WITH_CUDA
namespace detail {
bool fused_prior_supported_cuda(const PriorMlpWeights& weights);
torch::Tensor fused_interpolation_prior_cuda(const torch::Tensor& src, const torch::Tensor& tgt,
                                             const PriorMlpWeights& weights);
}  // namespace detail
#endif

bool fused_prior_supported(const PriorMlpWeights& weights) {
#ifdef LIDERE_WITH_CUDA
  return detail::fused_prior_supported_cuda(weights);
#else
  (void)weights;
  return false;
#endif
}

torch::Tensor fused_interpolation_prior(const torch::Tensor& src, const torch::Tensor& tgt,
                                        const PriorMlpWeights& weights) {
#ifdef LIDERE_WITH_CUDA
  return detail::fused_interpolation_prior_cuda(src, tgt, weights);
#else
  (void)src, (void)tgt, (void)weights;
  throw UsageError("the fused interpolation prior needs a build with CUDA kernels (LIDERE_CUDA=ON)");
#endif
}

}  // namespace lidere::ops
