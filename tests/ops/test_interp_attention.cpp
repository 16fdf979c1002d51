#include <torch/torch.h>

#include "ops/interp_attention.h"
#include "test_common.h"

using lidere::ops::interp_attention;
using lidere::ops::InterpBackend;

namespace {

auto f64() { return torch::TensorOptions().dtype(torch::kFloat64); }

struct Inputs {
  torch::Tensor prior, q, k, v;
};

// q_form: 0 = (H, Dk), 1 = (T, H, Dk), 2 = (B, T, H, Dk).
Inputs random_inputs(int64_t B, int64_t H, int64_t S, int64_t T, int64_t Dk, int64_t Dv, int q_form,
                     torch::TensorOptions options = f64()) {
  Inputs in;
  in.prior = torch::rand({H, S, T}, options) * 3;
  in.q = q_form == 0 ? torch::randn({H, Dk}, options)
         : q_form == 1 ? torch::randn({T, H, Dk}, options)
                       : torch::randn({B, T, H, Dk}, options);
  in.k = torch::randn({B, S, H, Dk}, options);
  in.v = torch::randn({B, S, H, Dv}, options);
  return in;
}

// The definition, one scalar at a time: an oracle independent of the reference's einsums.
torch::Tensor naive(const Inputs& in) {
  const auto H = in.prior.size(0), S = in.prior.size(1), T = in.prior.size(2);
  const auto B = in.k.size(0), Dv = in.v.size(3);
  auto q = in.q.dim() == 2 ? in.q.view({1, 1, H, -1}).expand({B, T, H, in.q.size(1)})
           : in.q.dim() == 3 ? in.q.unsqueeze(0).expand({B, T, H, in.q.size(2)})
                             : in.q;
  auto out = torch::zeros({B, T, H, Dv}, in.v.options());
  auto P = in.prior.accessor<double, 3>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> logits(S);
        double max_logit = -1e300;
        for (int64_t s = 0; s < S; ++s) {
          logits[s] = P[h][s][t] + (q[b][t][h] * in.k[b][s][h]).sum().item<double>();
          max_logit = std::max(max_logit, logits[s]);
        }
        double total = 0;
        for (auto& l : logits) total += (l = std::exp(l - max_logit));
        for (int64_t s = 0; s < S; ++s) out[b][t][h] += in.v[b][s][h] * (logits[s] / total);
      }
  return out;
}

double rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-300);
}

}  // namespace

CATCH_TEST_CASE("reference interp_attention equals the scalar definition for every query form", "[unit]") {
  torch::manual_seed(0);
  for (int q_form = 0; q_form < 3; ++q_form) {
    CATCH_INFO("q form " << q_form);
    const Inputs in = random_inputs(2, 3, 5, 7, 2, 4, q_form);
    CATCH_REQUIRE(rel_error(interp_attention(in.prior, in.q, in.k, in.v, InterpBackend::kReference), naive(in)) < 1e-13);
  }
}

CATCH_TEST_CASE("interp_attention invariants", "[unit]") {
  torch::manual_seed(1);
  const Inputs in = random_inputs(3, 2, 6, 9, 2, 3, 0);
  const auto out = interp_attention(in.prior, in.q, in.k, in.v);
  CATCH_SECTION("a constant q equals the same q repeated for every target and image") {
    const auto q_per_target = in.q.unsqueeze(0).expand({9, 2, 2}).contiguous();
    CATCH_REQUIRE(rel_error(interp_attention(in.prior, q_per_target, in.k, in.v), out) < 1e-14);
    const auto q_per_image = q_per_target.unsqueeze(0).expand({3, 9, 2, 2}).contiguous();
    CATCH_REQUIRE(rel_error(interp_attention(in.prior, q_per_image, in.k, in.v), out) < 1e-14);
  }
  CATCH_SECTION("adding a constant per (head, target) to the prior changes nothing") {
    const auto shifted = in.prior + torch::randn({2, 1, 9}, f64()) * 5;
    CATCH_REQUIRE(rel_error(interp_attention(shifted, in.q, in.k, in.v), out) < 1e-13);
  }
  CATCH_SECTION("each output is a convex combination of the values") {
    CATCH_REQUIRE((out.amax({1}) <= in.v.amax({1}) + 1e-12).all().item<bool>());
    CATCH_REQUIRE((out.amin({1}) >= in.v.amin({1}) - 1e-12).all().item<bool>());
  }
  CATCH_SECTION("the weights are distributions over the sources") {
    const auto w = lidere::ops::interp_attention_weights(in.prior, in.q, in.k);
    CATCH_REQUIRE(w.sizes() == torch::IntArrayRef({3, 2, 6, 9}));
    CATCH_REQUIRE(torch::allclose(w.sum(2), torch::ones({3, 2, 9}, f64())));
  }
  CATCH_SECTION("bad shapes are refused with the argument named") {
    CATCH_REQUIRE_THROWS_WITH(interp_attention(in.prior, in.q, in.k.narrow(1, 0, 5), in.v), Catch::Contains("k"));
    CATCH_REQUIRE_THROWS_WITH(interp_attention(in.prior, torch::randn({4, 2}, f64()), in.k, in.v), Catch::Contains("q"));
    CATCH_REQUIRE_THROWS_WITH(interp_attention(in.prior, in.q, in.k, in.v.to(torch::kFloat32)), Catch::Contains("dtype"));
  }
}

CATCH_TEST_CASE("interp_attention gradients match central finite differences in float64", "[unit]") {
  torch::manual_seed(2);
  for (int q_form = 0; q_form < 3; ++q_form) {
    CATCH_INFO("q form " << q_form);
    Inputs in = random_inputs(2, 2, 5, 6, 2, 3, q_form);
    for (auto* t : {&in.prior, &in.q, &in.k, &in.v}) t->requires_grad_(true);
    const auto weights = torch::randn({2, 6, 2, 3}, f64());
    auto loss_of = [&](const Inputs& x) { return (interp_attention(x.prior, x.q, x.k, x.v) * weights).sum(); };
    loss_of(in).backward();
    torch::NoGradGuard no_grad;
    auto member = [](Inputs& x, int i) -> torch::Tensor& {
      return i == 0 ? x.prior : i == 1 ? x.q : i == 2 ? x.k : x.v;
    };
    const char* names[] = {"prior", "q", "k", "v"};
    for (int i = 0; i < 4; ++i) {
      CATCH_INFO("gradient of " << names[i]);
      const torch::Tensor& arg = member(in, i);
      const auto direction = torch::randn_like(arg);
      const double eps = 1e-6;
      Inputs plus = in, minus = in;
      member(plus, i) = arg + eps * direction;
      member(minus, i) = arg - eps * direction;
      const double numeric = (loss_of(plus) - loss_of(minus)).item<double>() / (2 * eps);
      const double analytic = (arg.grad() * direction).sum().item<double>();
      CATCH_REQUIRE(std::abs(numeric - analytic) <= 1e-7 * std::max(1.0, std::abs(analytic)));
    }
  }
}

CATCH_TEST_CASE("CUDA online-softmax forward equals the reference", "[cuda]") {
  if (!lidere::ops::cuda_kernels_compiled() || !torch::cuda::is_available()) {
    CATCH_WARN("skipped: " << (lidere::ops::cuda_kernels_compiled() ? "no CUDA device" : "built without CUDA kernels"));
    return;
  }
  torch::manual_seed(3);
  torch::NoGradGuard no_grad;
  struct Shape { int64_t B, H, S, T; };
  for (const auto [B, H, S, T] : {Shape{1, 1, 1, 1}, Shape{2, 8, 63, 65}, Shape{33, 3, 130, 257}, Shape{4, 8, 1024, 4096}}) {
    for (int q_form = 0; q_form < 3; ++q_form) {
      for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
        CATCH_INFO("B=" << B << " H=" << H << " S=" << S << " T=" << T << " q form " << q_form << " " << dtype);
        const auto opts = torch::TensorOptions().dtype(dtype).device(torch::kCUDA);
        const Inputs in = random_inputs(B, H, S, T, 2, 16, q_form, opts);
        const auto ref = interp_attention(in.prior.to(torch::kFloat64), in.q.to(torch::kFloat64),
                                          in.k.to(torch::kFloat64), in.v.to(torch::kFloat64), InterpBackend::kReference);
        const auto fast = interp_attention(in.prior, in.q, in.k, in.v, InterpBackend::kCudaOnlineSoftmax);
        CATCH_REQUIRE(rel_error(fast.to(torch::kFloat64), ref) < (dtype == torch::kFloat64 ? 1e-12 : 1e-5));
      }
    }
  }
}
