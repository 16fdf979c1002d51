// The segmentation task: loss as the official code computes it, metrics from a confusion matrix.
#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "tasks/registry.h"
#include "tasks/segmentation/segmentation_task.h"
#include "test_common.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

namespace {

// A batch of label maps at the input size, as the loader delivers it (identity transforms).
data::Batch label_batch(const std::vector<torch::Tensor>& labels) {
  data::Batch batch;
  std::vector<torch::Tensor> images;
  for (const auto& label : labels) {
    images.push_back(torch::zeros({3, label.size(0), label.size(1)}));
    data::Annotation a;
    a.label_map = data::LabelMap{label, 255};
    batch.annotations.push_back(a);
    batch.transforms.push_back(data::GeometricTransform::identity(label.size(0), label.size(1)));
    batch.names.push_back("x");
  }
  batch.images = torch::stack(images);
  return batch;
}

}  // namespace

CATCH_TEST_CASE("segmentation loss: cross-entropy on nearest-downsampled labels, ignore index left out", "[unit]") {
  tasks::SegmentationTask task({{"a", "b", "c"}, 255});
  torch::manual_seed(4);
  const torch::Tensor logits = torch::randn({2, 3, 4, 6});
  std::vector<torch::Tensor> labels;
  for (int i = 0; i < 2; ++i) {
    torch::Tensor label = torch::randint(0, 3, {8, 12}, torch::kLong);
    label.index_put_({0}, 255);
    labels.push_back(label);
  }
  data::Batch batch = label_batch(labels);
  task.build_targets(batch);
  // Nearest with an exact factor 2 keeps the even rows and columns.
  const torch::Tensor small = torch::stack(labels).slice(1, 0, 8, 2).slice(2, 0, 12, 2);
  const torch::Tensor expected = torch::nn::functional::cross_entropy(
      logits, small, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(255));
  CATCH_CHECK(task.loss({{"logits", logits}}, batch).item<double>() == Approx(expected.item<double>()).epsilon(1e-6));
  batch.targets.at("labels").fill_(255);
  CATCH_CHECK(task.loss({{"logits", logits}}, batch).item<double>() == 0.0);
}

CATCH_TEST_CASE("segmentation metrics: mIoU over seen classes, pixel accuracy, confusion", "[unit]") {
  tasks::SegmentationEvaluator evaluator({{"bg", "cat", "dog"}, 255});
  // truth: 0 0 1 1 255 ; prediction: 0 1 1 1 2  -> the ignored pixel is left out.
  evaluator.add_prediction(torch::tensor({0, 1, 1, 1, 2}).view({1, 5}), torch::tensor({0, 0, 1, 1, 255}).view({1, 5}));
  const auto m = evaluator.metrics();
  // IoU bg = 1/2, cat = 2/3, dog never seen -> mean over two classes.
  CATCH_CHECK(m.at("mIoU") == Approx((0.5 + 2.0 / 3.0) / 2));
  CATCH_CHECK(m.at("pixel_accuracy") == Approx(0.75));
  CATCH_CHECK(m.main_name() == "mIoU");
  const auto details = evaluator.details();
  CATCH_CHECK(details["iou"][2].is_null());
  CATCH_CHECK(details["confusion"][0][1] == 1);
  // Logits are upsampled (bilinear) to each label's own size before the argmax.
  tasks::SegmentationEvaluator upsampled({{"bg", "fg"}, 255});
  torch::Tensor logits = torch::zeros({1, 2, 2, 2});
  logits.index_put_({0, 1, 0, 0}, 5.0);
  const tasks::SegmentationTask task({{"bg", "fg"}, 255});
  data::Annotation truth;
  truth.label_map = data::LabelMap{torch::zeros({6, 6}, torch::kLong), 255};
  upsampled.add(task.results({{"logits", logits}}, 6, 6), truth);
  CATCH_CHECK(upsampled.confusion().sum().item<std::int64_t>() == 36);
  CATCH_CHECK(upsampled.confusion()[0][1].item<std::int64_t>() > 0);
}

CATCH_TEST_CASE("task registry and checkpoint compatibility", "[unit]") {
  const auto task = tasks::make_task({{"task", "seg"}, {"class_names", {"a", "b"}}, {"ignore_index", 9}});
  CATCH_CHECK(task->heads().heads.at(0).channels == 2);
  CATCH_CHECK(task->describe()["ignore_index"] == 9);
  CATCH_CHECK_THAT(thrown_message<UsageError>([] {
                     tasks::make_task({{"task", "depth"}});
                   }),
                   Contains("unknown task 'depth'"));
  const nlohmann::json two = {{"task", "seg"}, {"class_names", {"a", "b"}}},
                       three = {{"task", "seg"}, {"class_names", {"a", "b", "c"}}};
  CATCH_CHECK_NOTHROW(tasks::check_task_matches(two, two, "w.safetensors"));
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { tasks::check_task_matches(two, three, "w.safetensors"); }),
                   Contains("w.safetensors: this checkpoint predicts 2 classes, but the dataset has 3"));
  CATCH_CHECK_THAT(thrown_message<InputError>([&] {
                     tasks::check_task_matches({{"task", "pose"}}, two, "w.safetensors");
                   }),
                   Contains("trained for task 'pose', not 'seg'"));
}
