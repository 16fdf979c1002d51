// The boundary task: the official loss (and the class-balanced option), tiled inference that
// covers every pixel exactly as the official tiling where that one does, and validation that
// scores like the benchmark run on the written maps.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/boundary/postprocess.h"
#include "tasks/registry.h"
#include "test_common.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

namespace {

// Five annotators per image, so soft targets are multiples of 1/5, mostly zero; targets built by
// the task at the images' size (images rows x cols, identity transforms).
data::Batch soft_batch(const tasks::BoundaryTask& task, int n, int rows, int cols) {
  data::Batch batch;
  std::vector<torch::Tensor> images;
  for (int i = 0; i < n; ++i) {
    const torch::Tensor marked = torch::randint(0, 5, {rows, cols}) * (torch::rand({rows, cols}) < 0.2);
    const torch::Tensor maps = (torch::arange(5).view({5, 1, 1}) < marked.unsqueeze(0)).to(torch::kUInt8);
    data::Annotation a;
    a.annotator_maps = data::AnnotatorMaps{maps};
    batch.annotations.push_back(a);
    batch.transforms.push_back(data::GeometricTransform::identity(rows, cols));
    batch.names.push_back("x");
    images.push_back(torch::zeros({3, rows, cols}));
  }
  batch.images = torch::stack(images);
  task.build_targets(batch);
  return batch;
}

}  // namespace

CATCH_TEST_CASE("boundary loss: unweighted BCE with logits at the target's size, as the official code", "[unit]") {
  torch::manual_seed(1);
  const tasks::BoundaryTask task({});
  const torch::Tensor logits = torch::randn({2, 1, 5, 7}, torch::kDouble);
  const data::Batch batch = soft_batch(task, 2, 10, 14);
  const torch::Tensor target = batch.targets.at("soft").unsqueeze(1).to(torch::kDouble);
  const torch::Tensor up = at::upsample_bilinear2d(logits, {10, 14}, false);
  const torch::Tensor s = up.sigmoid();
  const torch::Tensor expected = -(target * s.log() + (1 - target) * (1 - s).log()).mean();
  CATCH_CHECK(task.loss({{"logits", logits}}, batch).item<double>() == Approx(expected.item<double>()).epsilon(1e-5));
}

CATCH_TEST_CASE("boundary loss, class-balanced: positives weigh the share of zero targets, per image", "[unit]") {
  torch::manual_seed(2);
  tasks::BoundarySpec spec;
  spec.balanced = true;
  const tasks::BoundaryTask task(spec);
  const torch::Tensor logits = torch::randn({2, 1, 6, 6}, torch::kDouble);
  const data::Batch batch = soft_batch(task, 2, 6, 6);
  double total = 0;
  for (int i = 0; i < 2; ++i) {
    const torch::Tensor t = batch.targets.at("soft")[i].to(torch::kDouble);
    const double b = (t == 0).to(torch::kDouble).mean().item<double>();
    const torch::Tensor s = logits[i][0].sigmoid();
    total += -(b * t * s.log() + (1 - b) * (1 - t) * (1 - s).log()).mean().item<double>();
  }
  CATCH_CHECK(task.loss({{"logits", logits}}, batch).item<double>() == Approx(total / 2).epsilon(1e-5));
  // The balanced option is part of what a checkpoint records.
  CATCH_CHECK(task.describe()["balanced"] == true);
  CATCH_CHECK(tasks::make_task(task.describe())->describe() == task.describe());
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
  tasks::BoundarySpec spec;
  spec.thresholds = 9;
  tasks::BoundaryEvaluator evaluator(spec);
  data::Annotation annotation;
  annotation.annotator_maps = data::AnnotatorMaps{annotators};
  evaluator.add(tasks::BoundaryTask(spec).results({{"logits", logits}}, rows, cols), annotation);
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
