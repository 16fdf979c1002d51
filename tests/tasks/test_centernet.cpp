// CenterNet targets, loss and decoding (tasks/detection/centernet.h): the official formulas on
// cases with known answers, the official crashes and NaNs that must not happen, and the round trip
// targets -> ideal outputs -> decoded boxes.
#include <cmath>

#include <ATen/ATen.h>
#include <torch/torch.h>

#include "tasks/detection/centernet.h"
#include "test_common.h"

namespace cn = lidere::tasks::detection;

namespace {

lidere::data::Boxes boxes_of(std::vector<std::array<double, 4>> xyxy, std::vector<std::int64_t> classes,
                             std::vector<bool> ignore = {}) {
  lidere::data::Boxes b;
  const auto n = static_cast<std::int64_t>(xyxy.size());
  b.xyxy = torch::zeros({n, 4}, torch::kDouble);
  for (std::int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) b.xyxy[i][j] = xyxy[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  }
  b.classes = torch::tensor(classes, torch::kLong);
  b.ignore = torch::zeros({n}, torch::kBool);
  for (std::size_t i = 0; i < ignore.size(); ++i) b.ignore[static_cast<std::int64_t>(i)] = static_cast<bool>(ignore[i]);
  return b;
}

}  // namespace

CATCH_TEST_CASE("CenterNet targets: the official heatmap, sizes and labels", "[unit]") {
  // A 20 x 10 box centred on pixel (row 30, col 40) of a 64 x 96 image.
  const auto t = cn::make_targets(boxes_of({{30.5, 25.5, 50.5, 35.5}}, {2}), 64, 96);
  CATCH_CHECK(t.heatmap[30][40].item<float>() == Approx(1.0f));
  CATCH_CHECK(std::get<1>(t.heatmap.flatten().max(0)).item<std::int64_t>() == 30 * 96 + 40);
  const double s = 0.02 * (5 * std::sqrt(64.0) + 0.25 * std::sqrt(200.0));
  CATCH_CHECK(t.heatmap[30][43].item<float>() == Approx(std::exp(-3.0 / (2 * s * s))).epsilon(1e-5));
  CATCH_CHECK(t.sizes[0][30][40].item<float>() == Approx(20.0 / 96));
  CATCH_CHECK(t.sizes[1][30][40].item<float>() == Approx(10.0 / 64));
  CATCH_CHECK(t.labels[30][40].item<std::int64_t>() == 3);
  // Within normalised distance 0.1 only: 0.1 x 96 = 9.6 columns.
  CATCH_CHECK(t.labels[30][49].item<std::int64_t>() == 3);
  CATCH_CHECK(t.labels[30][50].item<std::int64_t>() == 0);
  CATCH_CHECK(t.sizes[0][30][50].item<float>() == 0.0f);
}

CATCH_TEST_CASE("CenterNet targets: nearest centre wins, ignore boxes and empty images make none", "[unit]") {
  const auto two = cn::make_targets(boxes_of({{0, 0, 10, 10}, {10, 0, 20, 10}}, {0, 1}), 40, 40);
  CATCH_CHECK(two.labels[4][5].item<std::int64_t>() == 1);   // nearer the first (centre col 4.5)
  CATCH_CHECK(two.labels[4][14].item<std::int64_t>() == 2);  // nearer the second (centre col 14.5)
  const auto ignored = cn::make_targets(boxes_of({{0, 0, 10, 10}}, {0}, {true}), 40, 40);
  CATCH_CHECK(ignored.heatmap.abs().sum().item<float>() == 0.0f);
  CATCH_CHECK(ignored.labels.sum().item<std::int64_t>() == 0);
  const auto empty = cn::make_targets(lidere::data::Boxes{}, 16, 16);
  CATCH_CHECK(empty.heatmap.sum().item<float>() == 0.0f);
}

CATCH_TEST_CASE("CenterNet loss: focal loss value, empty foreground gives 0 terms, not NaN", "[unit]") {
  // logits 0, target 1: ce = log 2, (1 - p_t)^2 = 1/4, alpha_t = 0.25.
  CATCH_CHECK(cn::soft_sigmoid_focal_loss(torch::zeros({1}), torch::ones({1})).item<float>() ==
              Approx(std::log(2.0) * 0.25 * 0.25));
  const auto centre = torch::zeros({2, 1, 8, 8}, torch::requires_grad());
  const auto sizes = torch::zeros({2, 2, 8, 8}, torch::requires_grad());
  const auto classes = torch::zeros({2, 4, 8, 8}, torch::requires_grad());
  const auto terms = cn::centernet_loss(centre, sizes, classes, torch::zeros({2, 16, 16}), torch::zeros({2, 2, 16, 16}),
                                        torch::zeros({2, 16, 16}, torch::kLong));
  CATCH_CHECK(std::isfinite(terms.total.item<float>()));
  CATCH_CHECK(terms.size.item<float>() == 0.0f);
  CATCH_CHECK(terms.classes.item<float>() == 0.0f);
  terms.total.backward();
  CATCH_CHECK(torch::isfinite(centre.grad()).all().item<bool>());
  // With one object: the size term is the L1 over the labelled elements, the class term the
  // cross-entropy there (uniform logits: log 4).
  const auto t = cn::make_targets(boxes_of({{4, 4, 12, 12}}, {1}), 16, 16);
  const auto one = cn::centernet_loss(centre, sizes, classes, t.heatmap.unsqueeze(0).repeat({2, 1, 1}),
                                      t.sizes.unsqueeze(0).repeat({2, 1, 1, 1}), t.labels.unsqueeze(0).repeat({2, 1, 1}));
  CATCH_CHECK(one.classes.item<float>() == Approx(std::log(4.0)));
  // Sizes are resized bilinearly to the 8 x 8 output first (the official order): border pixels
  // of the labelled disc blend with 0 and still count where > 0.
  const torch::Tensor resized = at::upsample_bilinear2d(t.sizes.unsqueeze(0), {8, 8}, false);
  CATCH_CHECK(one.size.item<float>() == Approx(resized.masked_select(resized > 0).mean().item<float>()));
  CATCH_CHECK(one.total.item<float>() ==
              Approx(50 * one.heatmap.item<float>() + one.size.item<float>() + 0.2 * one.classes.item<float>()));
}

CATCH_TEST_CASE("CenterNet decoding: ideal outputs give the boxes back; no peak gives no detection", "[unit]") {
  // Targets at the output resolution (half the input's), turned into near-ideal outputs.
  const std::int64_t rows = 128, cols = 192;
  const auto truth = boxes_of({{20, 30, 60, 90}, {100, 10, 180, 50}}, {0, 2});
  const auto half = boxes_of({{10, 15, 30, 45}, {50, 5, 90, 25}}, {0, 2});
  const auto t = cn::make_targets(half, rows / 2, cols / 2);
  const torch::Tensor centre = torch::logit(t.heatmap.clamp(1e-4, 1 - 1e-4)).unsqueeze(0);
  const torch::Tensor classes = at::one_hot(t.labels, 4).permute({2, 0, 1}).to(torch::kFloat) * 20;
  const torch::Tensor d = cn::decode_detections(centre, t.sizes, classes, rows, cols);
  CATCH_REQUIRE(d.size(0) == 2);
  for (std::int64_t i = 0; i < 2; ++i) {
    const auto row = d[i];
    const std::int64_t k = row[5].item<double>() == 0 ? 0 : 1;
    CATCH_CHECK(row[5].item<double>() == (k == 0 ? 0.0 : 2.0));
    CATCH_CHECK((row.slice(0, 0, 4) - truth.xyxy[k]).abs().max().item<double>() < 1.01);
    // An even-sized box's centre falls between pixels: the peak pixel holds about 2/3.
    CATCH_CHECK(row[4].item<double>() > 0.6);
  }
  const torch::Tensor none = cn::decode_detections(torch::full({1, 8, 8}, -10.0), torch::zeros({2, 8, 8}),
                                                   torch::zeros({4, 8, 8}), 64, 64);
  CATCH_CHECK(none.size(0) == 0);
  // A peak whose classes are all below 0.05 (background wins): no detection, no crash.
  torch::Tensor bg = torch::zeros({4, 8, 8});
  bg[0].fill_(20);
  torch::Tensor one_peak = torch::full({1, 8, 8}, -10.0);
  one_peak[0][4][4] = 5;
  CATCH_CHECK(cn::decode_detections(one_peak, torch::full({2, 8, 8}, 0.2), bg, 64, 64).size(0) == 0);
}

CATCH_TEST_CASE("CenterNet decoding: class-agnostic NMS keeps the higher of two overlapping boxes", "[unit]") {
  const torch::Tensor boxes = torch::tensor({0.0, 0.0, 10.0, 10.0, 1.0, 1.0, 11.0, 11.0, 20.0, 20.0, 30.0, 30.0}).view({3, 4});
  CATCH_CHECK(cn::nms(boxes, torch::tensor({0.5, 0.9, 0.7}), 0.5) == std::vector<std::int64_t>{1, 2});
  CATCH_CHECK(cn::nms(boxes, torch::tensor({0.5, 0.9, 0.7}), 0.9) == std::vector<std::int64_t>{1, 2, 0});
}
