// The detection task's core (tasks/detection/detection_task.h): the official head layout, targets
// and loss on a batch, evaluation of results against the annotation's boxes, description round trip.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/errors.h"
#include "tasks/detection/detection_task.h"
#include "test_common.h"

using lidere::tasks::DetectionSpec;
using lidere::tasks::DetectionTask;

namespace {

lidere::data::Annotation with_boxes(std::vector<std::array<double, 4>> xyxy, std::vector<std::int64_t> classes) {
  lidere::data::Boxes b;
  const auto n = static_cast<std::int64_t>(xyxy.size());
  b.xyxy = torch::zeros({n, 4}, torch::kDouble);
  for (std::int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) b.xyxy[i][j] = xyxy[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  }
  b.classes = torch::tensor(classes, torch::kLong);
  b.ignore = torch::zeros({n}, torch::kBool);
  lidere::data::Annotation a;
  a.boxes = b;
  return a;
}

DetectionSpec two_classes() {
  DetectionSpec spec;
  spec.class_names = {"raccoon", "dog"};
  spec.category_ids = {3, 17};
  return spec;
}

}  // namespace

CATCH_TEST_CASE("Detection task: the official multi-head layout", "[unit]") {
  const DetectionTask task(two_classes());
  const auto layout = task.heads();
  CATCH_REQUIRE(layout.heads.size() == 3);
  CATCH_CHECK(layout.heads[0] == lidere::readout::HeadSpec{"centers_gauss", 1, -5.0});
  CATCH_CHECK(layout.heads[1] == lidere::readout::HeadSpec{"centers_size", 2, 0.0});
  CATCH_CHECK(layout.heads[2] == lidere::readout::HeadSpec{"class_embeddings", 4, 0.0});
  CATCH_REQUIRE(layout.embedding.has_value());
  CATCH_CHECK(layout.embedding->channels == 3);  // two classes + background
  layout.validate();
}

CATCH_TEST_CASE("Detection task: targets and loss on a batch, images without boxes included", "[unit]") {
  const DetectionTask task(two_classes());
  lidere::data::Batch batch;
  batch.images = torch::zeros({2, 3, 32, 48});
  batch.annotations = {with_boxes({{4, 4, 20, 16}}, {1}), with_boxes({}, {})};
  batch.transforms = {lidere::data::GeometricTransform::identity(32, 48), lidere::data::GeometricTransform::identity(32, 48)};
  batch.names = {"a.jpg", "b.jpg"};
  task.build_targets(batch);
  CATCH_CHECK(batch.targets.at("heatmap").sizes() == torch::IntArrayRef({2, 32, 48}));
  CATCH_CHECK(batch.targets.at("labels")[0].max().item<std::int64_t>() == 2);
  CATCH_CHECK(batch.targets.at("labels")[1].max().item<std::int64_t>() == 0);
  lidere::tasks::Outputs outputs = {{"centers_gauss", torch::full({2, 1, 16, 24}, -5.0, torch::requires_grad())},
                                    {"centers_size", torch::zeros({2, 2, 16, 24}, torch::requires_grad())},
                                    {"class_embeddings", torch::zeros({2, 4, 16, 24})},
                                    {"class_logits", torch::zeros({2, 3, 16, 24}, torch::requires_grad())}};
  const torch::Tensor loss = task.loss(outputs, batch);
  CATCH_CHECK(std::isfinite(loss.item<float>()));
  loss.backward();
  CATCH_CHECK(outputs.at("class_logits").grad().abs().sum().item<float>() > 0);
}

CATCH_TEST_CASE("Detection task: evaluation of results against the boxes; the description round trip", "[unit]") {
  const DetectionTask task(two_classes());
  auto evaluator = task.evaluator();
  // Image 1: both objects found; image 2: one object missed, one false positive.
  evaluator->add({{"detections", torch::tensor({10.0, 10.0, 50.0, 40.0, 0.9, 0.0, 60.0, 5.0, 90.0, 30.0, 0.8, 1.0}).view({2, 6})}},
                 with_boxes({{10, 10, 50, 40}, {60, 5, 90, 30}}, {0, 1}));
  evaluator->add({{"detections", torch::tensor({0.0, 0.0, 5.0, 5.0, 0.95, 0.0}).view({1, 6})}},
                 with_boxes({{20, 20, 60, 60}}, {1}));
  const auto m = evaluator->metrics();
  CATCH_CHECK(m.main_name() == "AP");
  CATCH_CHECK(m.values.size() == 12);
  // raccoon: a false positive above the true positive -> AP 0.5; dog: recall 1/2 at precision 1.
  const auto details = evaluator->details();
  CATCH_CHECK(details.at("per_class_ap").at("raccoon").get<double>() == Approx(0.5));
  CATCH_CHECK(details.at("per_class_ap").at("dog").get<double>() == Approx(0.5).margin(0.01));
  CATCH_CHECK(m.at("AP50") == Approx(0.5).margin(0.01));

  const auto again = lidere::tasks::make_detection_task(task.describe());
  CATCH_CHECK(again->describe() == task.describe());
  nlohmann::json bad = task.describe();
  bad["nms_iou"] = 0.0;
  CATCH_CHECK_THROWS_AS(lidere::tasks::make_detection_task(bad), lidere::UsageError);
}
