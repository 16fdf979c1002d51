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
  in.q = q_form == 0   ? torch::randn({H, Dk}, options)
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
  auto q = in.q.dim() == 2   ? in.q.view({1, 1, H, -1}).expand({B, T, H, in.q.size(1)})
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
    CATCH_REQUIRE(rel_error(interp_attention(in.prior, in.q, in.k, in.v, InterpBackend::kReference), naive(in)) <
                  1e-13);
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
    CATCH_REQUIRE_THROWS_WITH(interp_attention(in.prior, torch::randn({4, 2}, f64()), in.k, in.v),
                              Catch::Contains("q"));
    CATCH_REQUIRE_THROWS_WITH(interp_attention(in.prior, in.q, in.k, in.v.to(torch::kFloat32)),
                              Catch::Contains("dtype"));
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

CATCH_TEST_CASE("factorised path equals the reference over shapes, with gradients, in float64", "[unit]") {
  torch::manual_seed(4);
  struct Shape {
    int64_t B, H, S, T;
  };
  for (const auto [B, H, S, T] : {Shape{1, 1, 1, 1}, Shape{1, 8, 12, 48}, Shape{3, 2, 35, 9}, Shape{5, 3, 7, 7},
                                  Shape{33, 8, 20, 80}, Shape{2, 5, 63, 130}}) {
    CATCH_INFO("B=" << B << " H=" << H << " S=" << S << " T=" << T);
    Inputs in = random_inputs(B, H, S, T, 2, 16, 0);
    in.k = in.k * 3;  // content logits of a trained readout's range
    for (auto* t : {&in.prior, &in.q, &in.k, &in.v}) t->requires_grad_(true);
    const auto weights = torch::randn({B, T, H, 16}, f64());
    std::vector<torch::Tensor> grads[2];
    torch::Tensor outputs[2];
    int i = 0;
    for (const auto backend : {InterpBackend::kReference, InterpBackend::kFactorized}) {
      outputs[i] = interp_attention(in.prior, in.q, in.k, in.v, backend);
      (outputs[i] * weights).sum().backward();
      for (auto* t : {&in.prior, &in.q, &in.k, &in.v}) {
        grads[i].push_back(t->grad().clone());
        t->mutable_grad() = torch::Tensor();
      }
      ++i;
    }
    CATCH_CHECK(rel_error(outputs[1], outputs[0]) < 1e-13);
    const char* names[] = {"prior", "q", "k", "v"};
    for (std::size_t g = 0; g < 4; ++g) {
      CATCH_INFO("gradient of " << names[g]);
      // Relative to the gradient's scale, floored at 1: with one source the prior's gradient is
      // exactly zero, and both paths give rounding noise there.
      const double scale = std::max(grads[0][g].abs().max().item<double>(), 1.0);
      CATCH_CHECK((grads[1][g] - grads[0][g]).abs().max().item<double>() < 1e-12 * scale);
    }
  }
}

CATCH_TEST_CASE("factorised path in float32 errs no more than the reference (both against float64)", "[unit]") {
  torch::manual_seed(5);
  for (const double prior_scale : {3.0, 30.0}) {
    Inputs in = random_inputs(4, 8, 64, 256, 2, 16, 0, torch::TensorOptions().dtype(torch::kFloat32));
    in.prior = in.prior * prior_scale;
    const auto exact = interp_attention(in.prior.to(torch::kFloat64), in.q.to(torch::kFloat64),
                                        in.k.to(torch::kFloat64), in.v.to(torch::kFloat64), InterpBackend::kReference);
    const double reference_error =
        rel_error(interp_attention(in.prior, in.q, in.k, in.v, InterpBackend::kReference).to(torch::kFloat64), exact);
    const double factorized_error =
        rel_error(interp_attention(in.prior, in.q, in.k, in.v, InterpBackend::kFactorized).to(torch::kFloat64), exact);
    CATCH_INFO("prior scale " << prior_scale << ": reference " << reference_error << ", factorised "
                              << factorized_error);
    CATCH_CHECK(factorized_error <= 2 * std::max(reference_error, 1e-7));
    // bf16 inputs are computed in float32 and rounded once at the end: against the exact result
    // for the same (bf16-rounded) inputs, only that final rounding (2^-8 relative) remains.
    const auto b = [](const torch::Tensor& t) { return t.to(torch::kBFloat16); };
    const auto bf16 = interp_attention(b(in.prior), b(in.q), b(in.k), b(in.v), InterpBackend::kFactorized);
    CATCH_CHECK(bf16.scalar_type() == torch::kBFloat16);
    const auto d = [](const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat64); };
    const auto exact_bf16_inputs = interp_attention(d(in.prior), d(in.q), d(in.k), d(in.v), InterpBackend::kReference);
    CATCH_CHECK(rel_error(bf16.to(torch::kFloat64), exact_bf16_inputs) < 8e-3);
  }
}

CATCH_TEST_CASE("kAuto falls back to the reference where the factorised denominators underflow", "[unit]") {
  torch::manual_seed(6);
  Inputs in = random_inputs(1, 1, 4, 3, 2, 4, 0, torch::TensorOptions().dtype(torch::kFloat32));
  // Source 0 has the largest prior for every target, source 3 the largest content logit, both by
  // far: exp(I - max I) * exp(a - max a) underflows to 0 at every source in float32.
  in.prior.zero_();
  in.prior.index_put_({0, 0}, 200.0);
  in.q = torch::tensor({{1.0f, 0.0f}});
  in.k.zero_();
  in.k.index_put_({0, 3, 0, 0}, 200.0f);
  in.k.index_put_({0, 0, 0, 0}, -10.0f);
  const auto exact = interp_attention(in.prior.to(torch::kFloat64), in.q.to(torch::kFloat64), in.k.to(torch::kFloat64),
                                      in.v.to(torch::kFloat64), InterpBackend::kReference);
  const auto fast = interp_attention(in.prior, in.q, in.k, in.v, InterpBackend::kFactorized);
  CATCH_CHECK_FALSE(torch::isfinite(fast).all().item<bool>());  // the failure the check guards against
  CATCH_CHECK(rel_error(interp_attention(in.prior, in.q, in.k, in.v).to(torch::kFloat64), exact) < 1e-5);
}

CATCH_TEST_CASE("factorised gradients in float32 err at most twice as much as the reference's", "[unit]") {
  torch::manual_seed(7);
  const auto o32 = torch::TensorOptions().dtype(torch::kFloat32);
  for (const int64_t B : {1, 4}) {
    Inputs in = random_inputs(B, 8, 64, 256, 2, 16, 0, o32);
    in.prior = in.prior * 3;
    in.k = in.k * 2;
    const auto g = torch::randn({B, 256, 8, 16}, o32);
    const auto gradients = [&](torch::ScalarType dtype, InterpBackend backend) {
      std::vector<torch::Tensor> x;
      for (const auto* t : {&in.prior, &in.q, &in.k, &in.v}) x.push_back(t->to(dtype).clone().requires_grad_(true));
      (interp_attention(x[0], x[1], x[2], x[3], backend) * g.to(dtype)).sum().backward();
      std::vector<torch::Tensor> out;
      for (const auto& t : x) out.push_back(t.grad().to(torch::kFloat64));
      return out;
    };
    const auto exact = gradients(torch::kFloat64, InterpBackend::kReference);
    const auto reference = gradients(torch::kFloat32, InterpBackend::kReference);
    const auto factorized = gradients(torch::kFloat32, InterpBackend::kFactorized);
    const char* names[] = {"prior", "q", "k", "v"};
    for (std::size_t i = 0; i < 4; ++i) {
      const double ref_error = rel_error(reference[i], exact[i]), fast_error = rel_error(factorized[i], exact[i]);
      CATCH_INFO("B=" << B << " gradient of " << names[i] << ": reference " << ref_error << ", factorised "
                      << fast_error);
      CATCH_CHECK(fast_error <= 2 * std::max(ref_error, 1e-7));
    }
  }
}
