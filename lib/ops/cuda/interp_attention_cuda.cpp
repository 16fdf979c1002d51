// Host side of the CUDA interp_attention kernels, in the fixed order: check inputs (naming the
// argument), device guard, current stream, early return on empty, dtype dispatch, launch, check
// the launch. The kernels themselves never see LibTorch (see interp_attention_params.h).
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <fmt/format.h>
#include <torch/autograd.h>

#include "core/errors.h"
#include "ops/cuda/interp_attention_params.h"
#include "ops/interp_attention_impl.h"

namespace lidere::ops::detail {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

cuda::ElementType element_type(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat64 ? cuda::ElementType::kFloat64 : cuda::ElementType::kFloat32;
}

void check_launch(int rc, const char* what) {
  if (rc != 0) {
    throw Error(ExitCode::kInternal, fmt::format("interp_attention (CUDA): {} failed: {}", what,
                                                 cudaGetErrorString(static_cast<cudaError_t>(rc))));
  }
}

// q viewed as (B, T, H, Dk) with zero strides on broadcast dimensions (no copy); the tensor the
// strides refer to is returned with them so that it outlives the launch.
struct QueryView {
  torch::Tensor tensor;
  std::int64_t stride_b, stride_t, stride_h;
};
QueryView query_view(const torch::Tensor& q, std::int64_t B, std::int64_t T, std::int64_t H) {
  torch::Tensor view = q.dim() == 2   ? q.contiguous().view({1, 1, H, q.size(1)})
                       : q.dim() == 3 ? q.contiguous().unsqueeze(0)
                                      : q.contiguous();
  view = view.expand({B, T, H, q.size(-1)});
  return {view, view.stride(0), view.stride(1), view.stride(2)};
}

cuda::InterpAttentionParams base_params(const torch::Tensor& prior, const QueryView& q, const torch::Tensor& k,
                                        const torch::Tensor& v) {
  cuda::InterpAttentionParams p{};
  p.prior = prior.data_ptr();
  p.q = q.tensor.data_ptr();
  p.k = k.data_ptr();
  p.v = v.data_ptr();
  p.batch = k.size(0);
  p.sources = k.size(1);
  p.heads = k.size(2);
  p.key_dim = k.size(3);
  p.value_dim = v.size(3);
  p.targets = prior.size(2);
  p.q_stride_b = q.stride_b;
  p.q_stride_t = q.stride_t;
  p.q_stride_h = q.stride_h;
  return p;
}

class OnlineSoftmaxAttention : public torch::autograd::Function<OnlineSoftmaxAttention> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& prior_in, const torch::Tensor& q,
                               const torch::Tensor& k_in, const torch::Tensor& v_in) {
    const torch::Tensor prior = prior_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
    const auto B = k.size(0), S = k.size(1), H = k.size(2), T = prior.size(2);
    auto out = torch::empty({B, T, H, v.size(3)}, v.options());
    auto lse = torch::empty({B, H, T}, v.options());
    if (out.numel() != 0) {
      if (S == 0) {
        out.fill_(std::numeric_limits<double>::quiet_NaN());  // softmax over no sources
      } else {
        const QueryView qv = query_view(q, B, T, H);
        cuda::InterpAttentionParams p = base_params(prior, qv, k, v);
        p.out = out.data_ptr();
        p.lse = lse.data_ptr();
        check_launch(
            cuda::launch_interp_attention_forward(p, element_type(prior), c10::cuda::getCurrentCUDAStream().stream()),
            "forward launch");
      }
    }
    ctx->save_for_backward({prior, q, k, v, out, lse});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &prior = saved[0], &q = saved[1], &k = saved[2], &v = saved[3], &out = saved[4],
                        &lse = saved[5];
    const auto B = k.size(0), S = k.size(1), H = k.size(2), Dk = k.size(3), T = prior.size(2);
    if (B * S * T * H == 0) {
      return {torch::zeros_like(prior), torch::zeros_like(q), torch::zeros_like(k), torch::zeros_like(v)};
    }
    const torch::Tensor grad_out = grads[0].contiguous();
    const torch::Tensor delta = (grad_out * out).sum(-1).contiguous();  // (B, T, H)
    auto grad_prior = torch::empty_like(prior);
    const std::int64_t chunks = (S + cuda::kBackwardSourceChunk - 1) / cuda::kBackwardSourceChunk;
    auto grad_q_partial = torch::empty({chunks, B, T, H, Dk}, k.options());
    auto grad_k = torch::empty_like(k), grad_v = torch::empty_like(v);
    const QueryView qv = query_view(q, B, T, H);
    cuda::InterpAttentionParams p = base_params(prior, qv, k, v);
    p.out = const_cast<void*>(out.data_ptr());
    p.lse = const_cast<void*>(lse.data_ptr());
    p.grad_out = grad_out.data_ptr();
    p.delta = delta.data_ptr();
    p.grad_prior = grad_prior.data_ptr();
    p.grad_q_partial = grad_q_partial.data_ptr();
    p.grad_k = grad_k.data_ptr();
    p.grad_v = grad_v.data_ptr();
    check_launch(
        cuda::launch_interp_attention_backward(p, element_type(prior), c10::cuda::getCurrentCUDAStream().stream()),
        "backward launch");
    // Per-(image, target) query gradients, summed over the source chunks, then over whatever q
    // was broadcast across.
    torch::Tensor grad_q = grad_q_partial.sum(0);  // (B, T, H, Dk)
    if (q.dim() == 3) grad_q = grad_q.sum(0);
    if (q.dim() == 2) grad_q = grad_q.sum(std::vector<std::int64_t>{0, 1});
    return {grad_prior, grad_q, grad_k, grad_v};
  }
};

void check_cuda_inputs(const torch::Tensor& prior, const torch::Tensor& k, const torch::Tensor& v) {
  if (!prior.is_cuda()) throw UsageError("interp_attention (CUDA): the inputs are not CUDA tensors");
  if (k.size(3) > cuda::kMaxKeyDim || v.size(3) > cuda::kMaxValueDim) {
    throw UsageError(fmt::format("interp_attention (CUDA): key dim {} / value dim {} exceed the kernel's {} / {}",
                                 k.size(3), v.size(3), cuda::kMaxKeyDim, cuda::kMaxValueDim));
  }
}

}  // namespace

bool cuda_kernel_supports(const torch::Tensor& prior, const torch::Tensor& k, const torch::Tensor& v) {
  const auto type = prior.scalar_type();
  return prior.is_cuda() && k.size(3) <= cuda::kMaxKeyDim && v.size(3) <= cuda::kMaxValueDim &&
         (type == torch::kFloat32 || type == torch::kFloat64 || type == torch::kBFloat16 || type == torch::kFloat16);
}

torch::Tensor interp_attention_cuda(const torch::Tensor& prior, const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v) {
  check_cuda_inputs(prior, k, v);
  const c10::cuda::CUDAGuard guard(prior.device());
  const auto type = prior.scalar_type();
  if (type == torch::kFloat32 || type == torch::kFloat64) return OnlineSoftmaxAttention::apply(prior, q, k, v);
  if (type != torch::kBFloat16 && type != torch::kFloat16) {
    throw UsageError(fmt::format(
        "interp_attention (CUDA): dtype {} not supported (float32, float64, bfloat16, float16)", c10::toString(type)));
  }
  // Reduced-precision inputs: computed and accumulated in float32 (the casts are differentiable).
  return OnlineSoftmaxAttention::apply(prior.to(torch::kFloat), q.to(torch::kFloat), k.to(torch::kFloat),
                                       v.to(torch::kFloat))
      .to(type);
}

FactorizedGradients factorized_backward_cuda(torch::Tensor E, const torch::Tensor& v_hbsd, const torch::Tensor& w_hbs,
                                             const torch::Tensor& G_hbtd, const torch::Tensor& r_hbt) {
  const c10::cuda::CUDAGuard guard(E.device());
  const auto H = E.size(0), S = E.size(1), T = E.size(2), B = w_hbs.size(1), Dv = v_hbsd.size(3);
  if (Dv > cuda::kMaxValueDim) {
    throw UsageError(
        fmt::format("interp_attention (CUDA): value dim {} exceeds the kernel's {}", Dv, cuda::kMaxValueDim));
  }
  const std::int64_t tiles = (T + cuda::kFactorizedTile - 1) / cuda::kFactorizedTile;
  auto dw_partial = torch::empty({tiles, H, B, S}, E.options());
  const torch::Tensor v = v_hbsd.contiguous(), w = w_hbs.contiguous(), G = G_hbtd.contiguous(), r = r_hbt.contiguous();
  E = E.contiguous();
  if (E.numel() != 0 && B != 0) {
    cuda::FactorizedBackwardParams p{};
    p.E = E.data_ptr();
    p.v = v.data_ptr();
    p.w = w.data_ptr();
    p.G = G.data_ptr();
    p.r = r.data_ptr();
    p.dw_partial = dw_partial.data_ptr();
    p.batch = B;
    p.sources = S;
    p.targets = T;
    p.heads = H;
    p.value_dim = Dv;
    check_launch(cuda::launch_factorized_backward(p, element_type(E), c10::cuda::getCurrentCUDAStream().stream()),
                 "factorised backward launch");
  } else {
    E.zero_();
    dw_partial.zero_();
  }
  return {E, dw_partial.sum(0)};  // grad of the prior through E, and dw (H, B, S)
}

}  // namespace lidere::ops::detail
