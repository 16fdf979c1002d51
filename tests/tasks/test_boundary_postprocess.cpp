// Boundary post-processing against an independent formulation of the official nms_edges in ATen
// ops (Sobel by convolution with replicated borders, samples by grid_sample).
#include <torch/torch.h>

#include "tasks/boundary/postprocess.h"
#include "test_common.h"

using namespace lidere::tasks::boundary;

namespace {

torch::Tensor reference_nms(const torch::Tensor& prob, double tolerance) {
  const auto rows = prob.size(0), cols = prob.size(1);
  const torch::Tensor x = torch::nn::functional::pad(
      prob.view({1, 1, rows, cols}), torch::nn::functional::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
  const torch::Tensor kx =
      torch::tensor({{-1., 0., 1.}, {-2., 0., 2.}, {-1., 0., 1.}}, torch::kFloat64).view({1, 1, 3, 3});
  const torch::Tensor gx = torch::conv2d(x, kx)[0][0], gy = torch::conv2d(x, kx.transpose(2, 3))[0][0];
  const torch::Tensor angle = torch::atan2(gy, gx);
  const torch::Tensor r = torch::arange(rows, torch::kFloat64).view({-1, 1}).expand({rows, cols});
  const torch::Tensor c = torch::arange(cols, torch::kFloat64).view({1, -1}).expand({rows, cols});
  const auto sample = [&](const torch::Tensor& rr, const torch::Tensor& cc) {
    const torch::Tensor grid = torch::stack({cc / (cols - 1) * 2 - 1, rr / (rows - 1) * 2 - 1}, -1).unsqueeze(0);
    torch::Tensor v = torch::grid_sampler(prob.view({1, 1, rows, cols}), grid, 0, 0, true)[0][0];
    const torch::Tensor outside = (rr < 0) | (cc < 0) | (rr > rows - 1) | (cc > cols - 1);
    return v.masked_fill(outside, 0.0);
  };
  const torch::Tensor v1 = sample(r + torch::sin(angle), c + torch::cos(angle));
  const torch::Tensor v2 = sample(r - torch::sin(angle), c - torch::cos(angle));
  const torch::Tensor keep = (prob >= v1 - tolerance) & (prob >= v2 - tolerance);
  return torch::where(keep, prob, torch::zeros_like(prob));
}

}  // namespace

CATCH_TEST_CASE("boundary NMS equals the official formulation; floor and PNG levels", "[unit]") {
  torch::manual_seed(21);
  for (const auto& [rows, cols] : {std::pair<int, int>{40, 57}, std::pair<int, int>{64, 33}}) {
    // A smooth random field plus a ridge: maxima along lines, as a boundary map has.
    torch::Tensor prob = torch::rand({1, 1, rows / 4, cols / 4}, torch::kFloat64);
    prob = torch::upsample_bilinear2d(prob, {rows, cols}, true)[0][0] * 0.6;
    prob.select(1, cols / 2) += 0.3;
    prob = prob.clamp(0, 1).to(torch::kFloat32);
    const std::vector<float> values(prob.data_ptr<float>(), prob.data_ptr<float>() + prob.numel());
    const std::vector<float> ours = suppress_non_maxima(values, rows, cols, 0.07f);
    const torch::Tensor expected = reference_nms(prob.to(torch::kFloat64), 0.07);
    const torch::Tensor got =
        torch::from_blob(const_cast<float*>(ours.data()), {rows, cols}, torch::kFloat32).to(torch::kFloat64);
    const double kept = (got > 0).sum().item<double>(), all = static_cast<double>(rows * cols);
    CATCH_INFO(rows << "x" << cols << ": kept " << kept << " of " << all);
    CATCH_CHECK(kept > 0.05 * all);
    CATCH_CHECK(kept < 0.95 * all);  // something suppressed, something kept
    // Equal but for ties within rounding of the float32 input (none expected here).
    CATCH_CHECK((got - expected).abs().gt(1e-6).sum().item<std::int64_t>() == 0);
  }
  std::vector<float> p = {0.005f, 0.01f, 0.5f, 1.0f, 0.999f};
  zero_below(p);
  CATCH_CHECK(p == std::vector<float>{0.0f, 0.01f, 0.5f, 1.0f, 0.999f});
  CATCH_CHECK(to_8bit(p) == std::vector<std::uint8_t>{0, 2, 127, 255, 254});
  CATCH_CHECK(to_16bit(p) == std::vector<std::uint16_t>{0, 655, 32768, 65535, 65469});
}
