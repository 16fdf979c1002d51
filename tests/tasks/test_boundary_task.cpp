// The boundary task: the official loss (and the class-balanced option), tiled inference that
// covers every pixel exactly as the official tiling where that one does, and validation that
// scores like the benchmark run on the written maps.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/boundary/postprocess.h"
#include "tasks/boundary/tiling.h"
#include "tasks/registry.h"
#include "test_common.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

namespace {

tasks::Batch soft_batch(int n, int rows, int cols) {
  tasks::Batch batch;
  for (int i = 0; i < n; ++i) {
    // Soft targets as means of annotators: multiples of 1/5, mostly zero.
    torch::Tensor t = (torch::randint(0, 5, {rows, cols}) * (torch::rand({rows, cols}) < 0.2)).to(torch::kFloat) / 5;
    batch.targets.push_back(t);
    batch.names.push_back("x");
  }
  return batch;
}

}  // namespace

CATCH_TEST_CASE("boundary loss: unweighted BCE with logits at the target's size, as the official code", "[unit]") {
  torch::manual_seed(1);
  const tasks::BoundaryTask task({});
  const torch::Tensor logits = torch::randn({2, 1, 5, 7}, torch::kDouble);
  const tasks::Batch batch = soft_batch(2, 10, 14);
  const torch::Tensor target = torch::stack(batch.targets).unsqueeze(1).to(torch::kDouble);
  const torch::Tensor up = at::upsample_bilinear2d(logits, {10, 14}, false);
  const torch::Tensor s = up.sigmoid();
  const torch::Tensor expected = -(target * s.log() + (1 - target) * (1 - s).log()).mean();
  CATCH_CHECK(task.loss(logits, batch).item<double>() == Approx(expected.item<double>()).epsilon(1e-5));
}

CATCH_TEST_CASE("boundary loss, class-balanced: positives weigh the share of zero targets, per image", "[unit]") {
  torch::manual_seed(2);
  tasks::BoundarySpec spec;
  spec.balanced = true;
  const tasks::BoundaryTask task(spec);
  const torch::Tensor logits = torch::randn({2, 1, 6, 6}, torch::kDouble);
  const tasks::Batch batch = soft_batch(2, 6, 6);
  double total = 0;
  for (int i = 0; i < 2; ++i) {
    const torch::Tensor t = batch.targets[static_cast<std::size_t>(i)].to(torch::kDouble);
    const double b = (t == 0).to(torch::kDouble).mean().item<double>();
    const torch::Tensor s = logits[i][0].sigmoid();
    total += -(b * t * s.log() + (1 - b) * (1 - t) * (1 - s).log()).mean().item<double>();
  }
  CATCH_CHECK(task.loss(logits, batch).item<double>() == Approx(total / 2).epsilon(1e-5));
  // The balanced option is part of what a checkpoint records.
  CATCH_CHECK(task.describe()["balanced"] == true);
  CATCH_CHECK(tasks::make_task(task.describe())->describe() == task.describe());
}

CATCH_TEST_CASE("tile origins: the official unfold positions, plus a last tile where those leave pixels", "[unit]") {
  using tasks::boundary::tile_origins;
  const tasks::boundary::TileSettings official{200, 40};
  // BSDS's 321 and 481 pad to 400 and 600: unfold's positions cover them.
  CATCH_CHECK(tile_origins(321, official) == std::vector<std::int64_t>{0, 160});
  CATCH_CHECK(tile_origins(481, official) == std::vector<std::int64_t>{0, 160, 320});
  CATCH_CHECK(tile_origins(200, official) == std::vector<std::int64_t>{0});
  CATCH_CHECK(tile_origins(1, official) == std::vector<std::int64_t>{0});
  // 390 pads to 400: unfold gives 0 and 160 (up to 360), the official averaging would divide by zero.
  CATCH_CHECK(tile_origins(390, official) == std::vector<std::int64_t>{0, 160, 200});
  for (std::int64_t length = 1; length < 900; length += 7) {
    for (const auto& t : {official, tasks::boundary::TileSettings{64, 0}, tasks::boundary::TileSettings{50, 49}}) {
      const auto origins = tile_origins(length, t);
      CATCH_CHECK(origins.front() == 0);
      CATCH_CHECK(origins.back() + t.size >= length);
      for (std::size_t i = 1; i < origins.size(); ++i) CATCH_CHECK(origins[i] - origins[i - 1] <= t.size);
    }
  }
  CATCH_CHECK_THAT(thrown_message<UsageError>([] { tile_origins(10, {20, 20}); }), Contains("overlap"));
  // From the command line: the official overlap int(0.2 x size) by default, 0 = whole images.
  CATCH_CHECK(tasks::boundary::tile_settings(200, -1).overlap == 40);
  CATCH_CHECK(tasks::boundary::tile_settings(256, 0).overlap == 0);
  CATCH_CHECK(tasks::boundary::tile_settings(0, -1).size == 0);
  CATCH_CHECK_THAT(thrown_message<UsageError>([] { tasks::boundary::tile_settings(50, 50); }), Contains("overlap"));
  CATCH_CHECK_THAT(thrown_message<UsageError>([] { tasks::boundary::tile_settings(-1, -1); }), Contains("--tile"));
}

CATCH_TEST_CASE("tiled inference: every pixel is the mean over the tiles that hold it", "[unit]") {
  torch::manual_seed(3);
  const torch::Tensor image = torch::rand({3, 75, 101});
  const tasks::boundary::TileSettings tiles{40, 8};
  // A model that sees each tile's position through the pixels: returns the first channel, so the
  // average over overlapping tiles is the image itself wherever a tile holds the pixel.
  std::int64_t calls = 0;
  const auto first_channel = [&](const torch::Tensor& batch) {
    ++calls;
    CATCH_CHECK(batch.size(0) <= 4);
    CATCH_CHECK(batch.size(2) == 40);
    return batch.select(1, 0).clone();
  };
  const torch::Tensor out = tasks::boundary::predict_tiled(image, tiles, first_channel, 4);
  CATCH_CHECK(out.sizes() == torch::IntArrayRef({75, 101}));
  CATCH_CHECK(torch::allclose(out, image[0], 1e-6, 1e-6));
  // Rows 0..79 padded: origins 0, 32 (ends 72 < 75) + 40; columns 0..119: 0, 32, 64 (ends 104).
  CATCH_CHECK(calls == (3 * 3 + 3) / 4);
  // A model that answers each tile with its own constant: overlaps hold the mean of their tiles.
  int k = 0;
  std::vector<float> values;
  const auto constant = [&](const torch::Tensor& batch) {
    torch::Tensor answer = torch::empty({batch.size(0), batch.size(2), batch.size(3)});
    for (std::int64_t i = 0; i < batch.size(0); ++i) {
      values.push_back(static_cast<float>(++k));
      answer[i].fill_(values.back());
    }
    return answer;
  };
  const torch::Tensor mean = tasks::boundary::predict_tiled(image, {40, 8}, constant, 2);
  // Tiles in row-major order: (0,0)=1, (0,32)=2, (0,64)=3, (32,0)=4, ... Pixel (35, 35) lies in
  // the first four of rows {0, 32} x columns {0, 32}: 1, 2, 4, 5; pixel (0, 0) only in tile 1.
  CATCH_CHECK(mean[0][0].item<float>() == Approx(1));
  CATCH_CHECK(mean[35][35].item<float>() == Approx((1 + 2 + 4 + 5) / 4.0));
}

CATCH_TEST_CASE("boundary validation scores the 8-bit post-processed maps with the benchmark", "[unit]") {
  torch::manual_seed(5);
  const int rows = 200, cols = 300;  // the benchmark's distance (0.0075 x diagonal) is 2.7 px here
  // Two annotators: a horizontal and a vertical line; logits a noisy version of the first.
  torch::Tensor annotators = torch::zeros({2, rows, cols}, torch::kUInt8);
  annotators[0][100].fill_(1);
  annotators[1].select(1, 150).fill_(1);
  torch::Tensor logits = torch::full({1, 1, rows / 2, cols / 2}, -6.0) + torch::randn({1, 1, rows / 2, cols / 2});
  logits[0][0][50].fill_(3.0);
  tasks::Batch batch;
  batch.targets = {annotators};
  batch.names = {"x"};
  tasks::BoundarySpec spec;
  spec.thresholds = 9;
  tasks::BoundaryEvaluator evaluator(spec);
  evaluator.add(logits, batch);
  const auto metrics = evaluator.metrics();
  CATCH_CHECK(metrics.main_name() == "ODS");

  // The same by hand: sigmoid, bilinear to the annotators' size, floor, NMS, 8-bit, benchmark.
  const torch::Tensor p = at::upsample_bilinear2d(logits.sigmoid(), {rows, cols}, false)[0][0].contiguous();
  std::vector<float> map(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  tasks::boundary::zero_below(map, 0.01f);
  map = tasks::boundary::suppress_non_maxima(map, rows, cols, 0.07f);
  std::vector<double> levels;
  for (auto v : tasks::boundary::to_8bit(map)) levels.push_back(v / 255.0);
  std::vector<tasks::boundary::BinaryMap> truth(2, tasks::boundary::BinaryMap(rows, cols));
  for (int k = 0; k < 2; ++k) {
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        truth[static_cast<std::size_t>(k)].at(r, c) = annotators[k][r][c].item<std::uint8_t>();
  }
  const auto s = tasks::boundary::collect(
      {tasks::boundary::evaluate_image(levels, rows, cols, truth, tasks::boundary::default_thresholds(9))});
  CATCH_CHECK(metrics.at("ODS") == Approx(s.ods.f));
  CATCH_CHECK(metrics.at("OIS") == Approx(s.ois.f));
  CATCH_CHECK(metrics.at("AP") == Approx(s.ap));
  // The predicted line matches the first annotator: recall 300 / 500 (its pixels of both
  // annotators'), precision high.
  CATCH_CHECK(s.ods.recall == Approx(0.6).margin(0.02));
  CATCH_CHECK(s.ods.precision > 0.9);
  CATCH_CHECK(evaluator.details()["per_threshold"].size() == 9);
}
