// Host side of the CUDA interp_attention kernels, in the fixed order: check inputs (naming the
// argument), device guard, current stream, early return on empty, dtype dispatch, launch, check
// the launch. The kernels themselves never see LibTorch (see interp_attention_params.h).
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <fmt/format.h>

#include "core/errors.h"
#include "ops/cuda/interp_attention_params.h"
#include "ops/interp_attention_impl.h"

namespace lidere::ops::detail {

torch::Tensor interp_attention_cuda_forward(const torch::Tensor& prior, const torch::Tensor& q,
                                            const torch::Tensor& k, const torch::Tensor& v) {
  if (!prior.is_cuda()) throw UsageError("interp_attention (CUDA): prior is not a CUDA tensor");
  if (torch::GradMode::is_enabled() &&
      (prior.requires_grad() || q.requires_grad() || k.requires_grad() || v.requires_grad())) {
    throw UsageError("interp_attention (CUDA): the forward kernel has no backward yet; call it "
                     "without gradients (use the reference backend to train)");
  }
  if (k.size(3) > cuda::kMaxKeyDim || v.size(3) > cuda::kMaxValueDim) {
    throw UsageError(fmt::format("interp_attention (CUDA): key dim {} / value dim {} exceed the "
                                 "kernel's {} / {}",
                                 k.size(3), v.size(3), cuda::kMaxKeyDim, cuda::kMaxValueDim));
  }
  const auto type = prior.scalar_type();
  if (type != torch::kFloat32 && type != torch::kFloat64) {
    throw UsageError(fmt::format("interp_attention (CUDA): dtype {} not supported (float32, "
                                 "float64)",
                                 c10::toString(type)));
  }

  const c10::cuda::CUDAGuard guard(prior.device());
  const auto stream = c10::cuda::getCurrentCUDAStream();
  const auto B = k.size(0), S = k.size(1), H = k.size(2), T = prior.size(2);
  auto out = torch::empty({B, T, H, v.size(3)}, v.options());
  if (out.numel() == 0) return out;
  if (S == 0) return out.fill_(std::numeric_limits<double>::quiet_NaN());  // softmax of nothing

  const torch::Tensor prior_c = prior.contiguous(), k_c = k.contiguous(), v_c = v.contiguous();
  // View q as (B, T, H, Dk) with zero strides on broadcast dimensions: no copy.
  torch::Tensor q_view = q.dim() == 2 ? q.contiguous().view({1, 1, H, q.size(1)})
                         : q.dim() == 3 ? q.contiguous().unsqueeze(0)
                                        : q.contiguous();
  q_view = q_view.expand({B, T, H, q.size(-1)});

  cuda::InterpAttentionParams params{};
  params.prior = prior_c.data_ptr();
  params.q = q_view.data_ptr();
  params.k = k_c.data_ptr();
  params.v = v_c.data_ptr();
  params.out = out.data_ptr();
  params.batch = B;
  params.sources = S;
  params.targets = T;
  params.heads = H;
  params.key_dim = k.size(3);
  params.value_dim = v.size(3);
  params.q_stride_b = q_view.stride(0);
  params.q_stride_t = q_view.stride(1);
  params.q_stride_h = q_view.stride(2);

  const int rc = cuda::launch_interp_attention_forward(
      params, type == torch::kFloat32 ? cuda::ElementType::kFloat32 : cuda::ElementType::kFloat64,
      stream.stream());
  if (rc != 0) {
    throw Error(ExitCode::kInternal, fmt::format("interp_attention (CUDA): launch failed: {}",
                                                 cudaGetErrorString(static_cast<cudaError_t>(rc))));
  }
  return out;
}

}  // namespace lidere::ops::detail
