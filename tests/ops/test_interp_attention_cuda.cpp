// The CUDA kernels of interp_attention against the ATen reference: outputs and all four
// gradients, over odd / non-square / S != T shapes, batch 1..33, heads 1..8, every query form and
// key/value width class (the released 2/16, 8/8, and the generic instance), in float64 (equal to
// rounding), float32 (at most twice the reference's error, both against float64) and bfloat16.
// Skipped with a message where there is no GPU.
#include <torch/cuda.h>
#include <torch/torch.h>

#ifdef LIDERE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "ops/interp_attention.h"
#include "readout/interpolation_prior.h"
#include "test_common.h"

using lidere::ops::interp_attention;
using lidere::ops::InterpBackend;

namespace {

// Why the CUDA tests cannot run here, or empty when they can.
std::string no_gpu_reason() {
  if (!lidere::ops::cuda_kernels_compiled()) return "built without CUDA kernels";
  if (!torch::cuda::is_available()) return "no CUDA device";
  return "";
}

// A GPU is the one thing that may be missing even under CI.
#define REQUIRE_GPU()                                                \
  do {                                                               \
    if (const std::string why = no_gpu_reason(); !why.empty()) LIDERE_SKIP(why); \
  } while (false)

struct Case {
  int64_t B, H, S, T, Dk, Dv;
  int q_form;  // 0 = (H, Dk), 1 = (T, H, Dk), 2 = (B, T, H, Dk)
};

// Inputs in float64 on the CPU; each run converts them.
std::vector<torch::Tensor> make_inputs(const Case& c) {
  const auto o = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor q = c.q_form == 0   ? torch::randn({c.H, c.Dk}, o)
                          : c.q_form == 1 ? torch::randn({c.T, c.H, c.Dk}, o)
                                          : torch::randn({c.B, c.T, c.H, c.Dk}, o);
  return {torch::rand({c.H, c.S, c.T}, o) * 3, q, torch::randn({c.B, c.S, c.H, c.Dk}, o) * 2,
          torch::randn({c.B, c.S, c.H, c.Dv}, o)};
}

// Output and the gradients of (output * weights).sum() for prior, q, k, v, as float64 on the CPU.
std::vector<torch::Tensor> run(const std::vector<torch::Tensor>& inputs, const torch::Tensor& weights,
                               InterpBackend backend, torch::ScalarType dtype, torch::Device device) {
  std::vector<torch::Tensor> x;
  // A copy: .to() returns the tensor itself where nothing changes, and the inputs are shared.
  for (const auto& t : inputs) x.push_back(t.to(device, dtype).detach().clone().requires_grad_(true));
  const torch::Tensor out = interp_attention(x[0], x[1], x[2], x[3], backend);
  CATCH_REQUIRE(out.scalar_type() == dtype);
  (out * weights.to(device, dtype)).sum().backward();
  std::vector<torch::Tensor> result{out.detach().to(torch::kCPU, torch::kFloat64)};
  for (const auto& t : x) result.push_back(t.grad().to(torch::kCPU, torch::kFloat64));
  return result;
}

// Largest difference relative to b's largest magnitude (floored at 1e-300).
double rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-300);
}

const char* kNames[] = {"output", "grad prior", "grad q", "grad k", "grad v"};

}  // namespace

CATCH_TEST_CASE("CUDA kernels equal the reference in float64, outputs and gradients", "[cuda]") {
  REQUIRE_GPU();
  torch::manual_seed(11);
  const std::vector<Case> cases = {
      {1, 1, 1, 1, 2, 16, 0},      {2, 8, 63, 65, 2, 16, 0},   {2, 8, 63, 65, 2, 16, 1}, {2, 8, 63, 65, 2, 16, 2},
      {33, 3, 130, 257, 2, 16, 0}, {33, 3, 130, 257, 8, 8, 2}, {3, 5, 300, 17, 8, 8, 1}, {5, 2, 7, 7, 3, 5, 2},
      {4, 8, 64, 256, 3, 5, 0},    {1, 4, 97, 33, 16, 32, 1},
  };
  for (const Case& c : cases) {
    const auto inputs = make_inputs(c);
    const auto weights = torch::randn({c.B, c.T, c.H, c.Dv}, torch::kFloat64);
    const auto ref = run(inputs, weights, InterpBackend::kReference, torch::kFloat64, torch::kCPU);
    std::vector<InterpBackend> backends = {InterpBackend::kCudaOnlineSoftmax, InterpBackend::kAuto};
    if (c.q_form == 0) backends.push_back(InterpBackend::kFactorized);
    for (const auto backend : backends) {
      const auto got = run(inputs, weights, backend, torch::kFloat64, torch::kCUDA);
      for (std::size_t i = 0; i < ref.size(); ++i) {
        CATCH_INFO("B=" << c.B << " H=" << c.H << " S=" << c.S << " T=" << c.T << " Dk=" << c.Dk << " Dv=" << c.Dv
                        << " q form " << c.q_form << " backend " << static_cast<int>(backend) << ": " << kNames[i]);
        // Relative to the scale, floored at 1: with one source the prior's gradient is exactly
        // zero and every path gives rounding noise there.
        const double scale = std::max(ref[i].abs().max().item<double>(), 1.0);
        CATCH_CHECK((got[i] - ref[i]).abs().max().item<double>() < 1e-11 * scale);
      }
    }
  }
}

CATCH_TEST_CASE("CUDA kernels in float32 err at most twice as much as the reference (against float64)", "[cuda]") {
  REQUIRE_GPU();
  torch::manual_seed(12);
  for (const Case& c : {Case{4, 8, 256, 1024, 2, 16, 0}, Case{4, 8, 256, 1024, 2, 16, 1},
                        Case{3, 8, 256, 1024, 8, 8, 2}, Case{2, 4, 200, 300, 3, 5, 1}}) {
    const auto inputs = make_inputs(c);
    const auto weights = torch::randn({c.B, c.T, c.H, c.Dv}, torch::kFloat64);
    const auto exact = run(inputs, weights, InterpBackend::kReference, torch::kFloat64, torch::kCUDA);
    const auto reference = run(inputs, weights, InterpBackend::kReference, torch::kFloat32, torch::kCUDA);
    std::vector<InterpBackend> backends = {InterpBackend::kCudaOnlineSoftmax};
    if (c.q_form == 0) backends.push_back(InterpBackend::kFactorized);
    for (const auto backend : backends) {
      const auto got = run(inputs, weights, backend, torch::kFloat32, torch::kCUDA);
      for (std::size_t i = 0; i < exact.size(); ++i) {
        const double ref_error = rel_error(reference[i], exact[i]), error = rel_error(got[i], exact[i]);
        CATCH_INFO("Dk=" << c.Dk << " Dv=" << c.Dv << " q form " << c.q_form << " backend " << static_cast<int>(backend)
                         << ": " << kNames[i] << " error " << error << ", reference " << ref_error);
        // The constant query's gradient is 16 numbers, each a sum of B*S*T softmax-gradient terms
        // that cancel exactly; the factorised path forms them from other intermediates than the
        // reference and measured 2.2x its error on an H200 (the CPU test, at smaller shapes, stays
        // within 2x). Everything else is held to 2x.
        const bool constant_query_gradient = i == 2 && c.q_form == 0 && backend == InterpBackend::kFactorized;
        CATCH_CHECK(error <= (constant_query_gradient ? 2.5 : 2.0) * std::max(ref_error, 1e-7));
      }
    }
  }
}

CATCH_TEST_CASE("CUDA kernels take bfloat16 inputs and compute in float32", "[cuda]") {
  REQUIRE_GPU();
  torch::manual_seed(13);
  for (const int q_form : {0, 1}) {
    const Case c{4, 8, 256, 1024, 2, 16, q_form};
    const auto inputs = make_inputs(c);
    std::vector<torch::Tensor> rounded;  // the bf16 inputs, exactly, in float64
    for (const auto& t : inputs) rounded.push_back(t.to(torch::kBFloat16).to(torch::kFloat64));
    const auto weights = torch::randn({c.B, c.T, c.H, c.Dv}, torch::kFloat64);
    const auto exact = run(rounded, weights, InterpBackend::kReference, torch::kFloat64, torch::kCUDA);
    const auto reference = run(rounded, weights, InterpBackend::kReference, torch::kBFloat16, torch::kCUDA);
    const auto got = run(rounded, weights, InterpBackend::kAuto, torch::kBFloat16, torch::kCUDA);
    for (std::size_t i = 0; i < exact.size(); ++i) {
      const double ref_error = rel_error(reference[i], exact[i]), error = rel_error(got[i], exact[i]);
      CATCH_INFO("q form " << q_form << ": " << kNames[i] << " error " << error << ", bf16 reference " << ref_error);
      CATCH_CHECK(error <= 2 * std::max(ref_error, 8e-3));
    }
  }
}

CATCH_TEST_CASE("CUDA gradients are deterministic", "[cuda]") {
  REQUIRE_GPU();
  torch::manual_seed(14);
  const Case c{8, 8, 256, 1024, 2, 16, 0};
  const auto inputs = make_inputs(c);
  const auto weights = torch::randn({c.B, c.T, c.H, c.Dv}, torch::kFloat64);
  for (const auto backend : {InterpBackend::kCudaOnlineSoftmax, InterpBackend::kFactorized}) {
    const auto first = run(inputs, weights, backend, torch::kFloat32, torch::kCUDA);
    const auto second = run(inputs, weights, backend, torch::kFloat32, torch::kCUDA);
    for (std::size_t i = 0; i < first.size(); ++i) {
      CATCH_INFO("backend " << static_cast<int>(backend) << ": " << kNames[i]);
      CATCH_CHECK(torch::equal(first[i], second[i]));
    }
  }
}

CATCH_TEST_CASE("CUDA paths never hold a (B, H, S, T) tensor", "[cuda]") {
  REQUIRE_GPU();
#ifdef LIDERE_WITH_CUDA
  torch::manual_seed(15);
  const Case c{32, 8, 1024, 4096, 2, 16, 0};  // the 512 px shapes
  const auto o = torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA);
  const double shared = 4.0 * static_cast<double>(c.H * c.S * c.T), full = shared * static_cast<double>(c.B);
  for (const auto backend : {InterpBackend::kFactorized, InterpBackend::kCudaOnlineSoftmax}) {
    std::vector<torch::Tensor> x;  // inputs made on the GPU directly (the CPU copy would be slow)
    x.push_back((torch::rand({c.H, c.S, c.T}, o) * 3).requires_grad_(true));
    x.push_back(torch::randn({c.H, c.Dk}, o).requires_grad_(true));
    x.push_back(torch::randn({c.B, c.S, c.H, c.Dk}, o).requires_grad_(true));
    x.push_back(torch::randn({c.B, c.S, c.H, c.Dv}, o).requires_grad_(true));
    const auto weights = torch::randn({c.B, c.T, c.H, c.Dv}, o);
    torch::cuda::synchronize();
    c10::cuda::CUDACachingAllocator::resetPeakStats(0);
    const auto before = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].current;
    (interp_attention(x[0], x[1], x[2], x[3], backend) * weights).sum().backward();
    torch::cuda::synchronize();
    const auto peak = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak - before;
    CATCH_INFO("backend " << static_cast<int>(backend) << ": peak " << peak / 1e6 << " MB, one (B, H, S, T) tensor "
                          << full / 1e6 << " MB");
    // Forward and backward together, inputs' gradients included: well under one such tensor.
    CATCH_CHECK(static_cast<double>(peak) < full / 3);
  }
#endif
}

// ---- the fused interpolation prior -----------------------------------------------------------

namespace {

// The prior and the gradients of (prior * weights).sum() for every parameter, as float64 on the CPU.
std::vector<torch::Tensor> prior_and_gradients(lidere::readout::InterpolationPrior& net, bool fused,
                                               lidere::readout::GridSize source, lidere::readout::GridSize target,
                                               const torch::Tensor& weights) {
  net->use_fused_kernel = fused;
  net->zero_grad();
  const torch::Tensor prior = net->forward(source, target);
  (prior * weights.to(prior.options())).sum().backward();
  std::vector<torch::Tensor> result{prior.detach().to(torch::kCPU, torch::kFloat64)};
  for (const auto& p : net->parameters()) result.push_back(p.grad().to(torch::kCPU, torch::kFloat64));
  return result;
}

}  // namespace

CATCH_TEST_CASE("fused interpolation prior equals the ATen formulation, values and weight gradients", "[cuda]") {
  REQUIRE_GPU();
  torch::manual_seed(16);
  using lidere::readout::GridSize;
  struct PriorCase {
    int64_t heads;
    GridSize source, target;
  };
  for (const auto& c : {PriorCase{8, {16, 16}, {32, 32}}, PriorCase{3, {7, 9}, {13, 5}}, PriorCase{16, {1, 1}, {4, 3}},
                        PriorCase{8, {24, 32}, {48, 64}}}) {
    lidere::readout::InterpolationPrior net(c.heads, 32, 4.0);
    {
      torch::NoGradGuard no_grad;  // weights of a trained prior's range, not only the initialisation
      for (auto& p : net->parameters()) p.add_(torch::randn_like(p) * 0.3);
    }
    const auto weights =
        torch::randn({c.heads, c.source.rows * c.source.cols, c.target.rows * c.target.cols}, torch::kFloat64);
    net->to(torch::kCUDA, torch::kFloat64);
    const auto exact = prior_and_gradients(net, false, c.source, c.target, weights);
    const auto fused64 = prior_and_gradients(net, true, c.source, c.target, weights);
    net->to(torch::kCUDA, torch::kFloat32);
    const auto aten32 = prior_and_gradients(net, false, c.source, c.target, weights);
    const auto fused32 = prior_and_gradients(net, true, c.source, c.target, weights);
    const char* names[] = {"prior",      "net.0.weight", "net.0.bias", "net.2.weight",
                           "net.2.bias", "net.4.weight", "net.4.bias", "skip.weight"};
    for (std::size_t i = 0; i < exact.size(); ++i) {
      const double e64 = rel_error(fused64[i], exact[i]), e32 = rel_error(fused32[i], exact[i]),
                   ref32 = rel_error(aten32[i], exact[i]);
      CATCH_INFO("heads " << c.heads << " source " << c.source.rows << "x" << c.source.cols << " target "
                          << c.target.rows << "x" << c.target.cols << ": " << (i < 8 ? names[i] : "?")
                          << " float64 error " << e64 << ", float32 error " << e32 << " (ATen float32 " << ref32
                          << ")");
      CATCH_CHECK(e64 < 1e-11);
      CATCH_CHECK(e32 <= 2 * std::max(ref32, 1e-6));
    }
  }
}

CATCH_TEST_CASE("fused interpolation prior holds no hidden activations", "[cuda]") {
  REQUIRE_GPU();
#ifdef LIDERE_WITH_CUDA
  torch::manual_seed(17);
  const lidere::readout::GridSize source{32, 32}, target{64, 64};  // the 512 px shapes
  lidere::readout::InterpolationPrior net(8, 32, 4.0);
  net->to(torch::kCUDA);
  const double prior_bytes = 4.0 * 8 * 1024 * 4096, hidden_bytes = 4.0 * 32 * 1024 * 4096;
  torch::cuda::synchronize();
  c10::cuda::CUDACachingAllocator::resetPeakStats(0);
  const auto before = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].current;
  net->forward(source, target).sum().backward();
  torch::cuda::synchronize();
  const auto peak = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak - before;
  CATCH_INFO("peak " << peak / 1e6 << " MB; the prior " << prior_bytes / 1e6 << " MB, one hidden layer "
                     << hidden_bytes / 1e6 << " MB");
  CATCH_CHECK(static_cast<double>(peak) < 3 * prior_bytes);
#endif
}
