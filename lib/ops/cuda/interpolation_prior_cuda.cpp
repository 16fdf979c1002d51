// Host side of the fused interpolation-prior kernels: checks, an autograd Function whose backward
// launches the weight-gradient kernel and sums its per-block partial rows.
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <fmt/format.h>
#include <torch/autograd.h>

#include "core/errors.h"
#include "ops/cuda/interpolation_prior_params.h"
#include "ops/prior_mlp.h"

namespace lidere::ops::detail {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void check_launch(int rc, const char* what) {
  if (rc != 0) {
    throw Error(ExitCode::kInternal, fmt::format("interpolation prior (CUDA): {} failed: {}", what,
                                                 cudaGetErrorString(static_cast<cudaError_t>(rc))));
  }
}

cuda::PriorParams params_for(const std::vector<torch::Tensor>& t) {  // src, tgt, w1, b1, w2, b2, w3, b3, skip
  cuda::PriorParams p{};
  p.src = t[0].data_ptr();
  p.tgt = t[1].data_ptr();
  p.w1 = t[2].data_ptr();
  p.b1 = t[3].data_ptr();
  p.w2 = t[4].data_ptr();
  p.b2 = t[5].data_ptr();
  p.w3 = t[6].data_ptr();
  p.b3 = t[7].data_ptr();
  p.skip = t[8].data_ptr();
  p.sources = t[0].size(0);
  p.targets = t[1].size(0);
  p.heads = t[6].size(0);
  return p;
}

cuda::ElementType element_type(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat64 ? cuda::ElementType::kFloat64 : cuda::ElementType::kFloat32;
}

class FusedPrior : public torch::autograd::Function<FusedPrior> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& src, const torch::Tensor& tgt,
                               const torch::Tensor& w1, const torch::Tensor& b1, const torch::Tensor& w2,
                               const torch::Tensor& b2, const torch::Tensor& w3, const torch::Tensor& b3,
                               const torch::Tensor& skip) {
    std::vector<torch::Tensor> t;
    for (const auto* x : {&src, &tgt, &w1, &b1, &w2, &b2, &w3, &b3, &skip}) t.push_back(x->contiguous());
    cuda::PriorParams p = params_for(t);
    auto prior = torch::empty({p.heads, p.sources, p.targets}, w1.options());
    if (prior.numel() != 0) {
      p.prior = prior.data_ptr();
      check_launch(cuda::launch_prior_forward(p, element_type(w1), c10::cuda::getCurrentCUDAStream().stream()),
                   "forward launch");
    }
    ctx->save_for_backward(t);
    return prior;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto t = ctx->get_saved_variables();
    const torch::Tensor grad = grads[0].to(t[2].scalar_type()).contiguous();
    cuda::PriorParams p = params_for(t);
    const std::int64_t count = cuda::prior_parameter_count(p.heads);
    auto partial = torch::zeros({cuda::kPriorBackwardBlocks, count}, t[2].options());
    if (p.sources * p.targets != 0) {
      p.grad_prior = grad.data_ptr();
      p.grad_partial = partial.data_ptr();
      check_launch(cuda::launch_prior_backward(p, element_type(t[2]), c10::cuda::getCurrentCUDAStream().stream()),
                   "backward launch");
    }
    const torch::Tensor total = partial.sum(0);
    const auto H = p.heads, hid = static_cast<std::int64_t>(cuda::kPriorHidden);
    std::vector<torch::Tensor> parts = total.split_with_sizes({hid * 4, hid, hid * hid, hid, H * hid, H, H * 4});
    return {torch::Tensor(),           torch::Tensor(), parts[0].view({hid, 4}), parts[1],
            parts[2].view({hid, hid}), parts[3],        parts[4].view({H, hid}), parts[5],
            parts[6].view({H, 4})};
  }
};

}  // namespace

bool fused_prior_supported_cuda(const PriorMlpWeights& w) {
  const auto type = w.w1.scalar_type();
  return w.w1.is_cuda() && (type == torch::kFloat32 || type == torch::kFloat64) && w.w1.dim() == 2 &&
         w.w1.size(0) == cuda::kPriorHidden && w.w1.size(1) == 4 && w.w2.size(0) == cuda::kPriorHidden &&
         w.w2.size(1) == cuda::kPriorHidden && w.w3.size(1) == cuda::kPriorHidden &&
         w.w3.size(0) <= cuda::kPriorMaxHeads && w.skip.size(0) == w.w3.size(0);
}

torch::Tensor fused_interpolation_prior_cuda(const torch::Tensor& src, const torch::Tensor& tgt,
                                             const PriorMlpWeights& w) {
  if (!fused_prior_supported_cuda(w)) {
    throw UsageError(
        "interpolation prior (CUDA): the fused kernel needs CUDA float32/float64 weights, 32 hidden "
        "units and at most 16 heads");
  }
  const c10::cuda::CUDAGuard guard(w.w1.device());
  return FusedPrior::apply(src.to(w.w1.options()), tgt.to(w.w1.options()), w.w1, w.b1, w.w2, w.b2, w.w3, w.b3, w.skip);
}

}  // namespace lidere::ops::detail
