#include "tasks/segmentation/segmentation_task.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace lidere::tasks {

const OptionTable& segmentation_options() {
  static const OptionTable table = {
      OptionSpec("ignore_index", -1,
                 "label value left out of the loss and the metrics (-1: the dataset's, 255 unless its config "
                 "says otherwise)")
          .on_command_line("--ignore-index", kTrainCommand | kEvalCommand)
          .carried_by_checkpoints(),
  };
  return table;
}

nlohmann::json segmentation_training_defaults() {
  // lr 0.01, not the official 1e-3: at 1e-3 a run of 1000 iterations is far from converged (the
  // linear probe hardly leaves the majority class in 100); docs/results.md, "Defaults".
  return {{"lr", 0.01}, {"iterations", 1000}};
}

std::unique_ptr<Task> make_segmentation_task(const nlohmann::json& description) {
  SegmentationSpec spec;
  spec.class_names = description.at("class_names").get<std::vector<std::string>>();
  const nlohmann::json options = resolve_options(segmentation_options(), description, "seg", {"class_names"});
  const auto ignore = options.at("ignore_index").get<std::int64_t>();
  spec.ignore_index = ignore >= 0 ? ignore : 255;
  return std::make_unique<SegmentationTask>(std::move(spec));
}

SegmentationTask::SegmentationTask(SegmentationSpec spec) : spec_(std::move(spec)) {
  if (spec_.classes() < 1) throw UsageError("a segmentation task needs at least one class");
}

torch::Tensor upsample_logits(const torch::Tensor& logits, std::int64_t rows, std::int64_t cols) {
  if (logits.size(2) == rows && logits.size(3) == cols) return logits;
  return at::upsample_bilinear2d(logits, {rows, cols}, /*align_corners=*/false);
}

readout::HeadLayout SegmentationTask::heads() const { return {{{"logits", spec_.classes(), 0.0}}, {}}; }

void SegmentationTask::build_targets(data::Batch& batch) const {
  const std::int64_t rows = batch.images.size(2), cols = batch.images.size(3);
  std::vector<torch::Tensor> labels;
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const auto& annotation = batch.annotations[static_cast<std::size_t>(i)];
    if (!annotation.label_map) throw InputError(batch.names[static_cast<std::size_t>(i)] + ": no label map");
    labels.push_back(annotation.label_map->transformed(batch.transforms[static_cast<std::size_t>(i)], rows, cols).classes);
  }
  batch.targets["labels"] = torch::stack(labels);
}

torch::Tensor SegmentationTask::loss(const Outputs& outputs, const data::Batch& batch) const {
  const torch::Tensor& logits = outputs.at("logits");
  const torch::Tensor labels = batch.targets.at("labels").to(logits.device());
  // Nearest-neighbour downsampling of the labels to the output grid, as F.interpolate(mode=
  // 'nearest') does in the official code (source index = floor(target index * in / out)).
  const torch::Tensor small =
      at::upsample_nearest2d(labels.unsqueeze(1).to(torch::kFloat), {logits.size(2), logits.size(3)})
          .squeeze(1)
          .to(torch::kLong);
  if (!(small != spec_.ignore_index).any().item<bool>()) {
    return logits.sum() * 0.0;  // every pixel ignored: no signal, but keep the graph
  }
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits.to(torch::kFloat), small,
                          F::CrossEntropyFuncOptions().ignore_index(spec_.ignore_index));
}

Outputs SegmentationTask::results(const Outputs& outputs, std::int64_t rows, std::int64_t cols) const {
  return {{"logits", upsample_logits(outputs.at("logits").to(torch::kFloat), rows, cols)[0]}};
}

std::unique_ptr<Evaluator> SegmentationTask::evaluator() const {
  return std::make_unique<SegmentationEvaluator>(spec_);
}

nlohmann::json SegmentationTask::describe() const {
  return {{"task", name()}, {"class_names", spec_.class_names}, {"ignore_index", spec_.ignore_index}};
}

SegmentationEvaluator::SegmentationEvaluator(SegmentationSpec spec)
    : spec_(std::move(spec)), confusion_(torch::zeros({spec_.classes(), spec_.classes()}, torch::kLong)) {}

void SegmentationEvaluator::add(const Outputs& results, const data::Annotation& truth) {
  if (!truth.label_map) throw InputError("segmentation evaluation: the annotation has no label map");
  const torch::Tensor& label = truth.label_map->classes;
  const torch::Tensor& scores = results.at("logits");
  if (scores.size(1) != label.size(0) || scores.size(2) != label.size(1)) {
    throw InputError("segmentation evaluation: the results and the label differ in size");
  }
  add_prediction(scores.argmax(0).cpu(), label);
}

void SegmentationEvaluator::add_prediction(const torch::Tensor& predicted, const torch::Tensor& label) {
  const std::int64_t classes = spec_.classes();
  const torch::Tensor truth = label.cpu().to(torch::kLong).reshape(-1);
  const torch::Tensor valid = (truth >= 0) & (truth < classes);  // the ignore index falls out here
  const torch::Tensor pairs = truth.index({valid}) * classes + predicted.reshape(-1).to(torch::kLong).index({valid});
  confusion_ += torch::bincount(pairs, {}, classes * classes).reshape({classes, classes}).to(torch::kLong);
}

namespace {

// IoU per class; NaN where the class occurs in neither labels nor predictions.
std::vector<double> class_iou(const torch::Tensor& confusion) {
  const auto c = confusion.to(torch::kDouble);
  const auto tp = c.diagonal(), truth = c.sum(1), predicted = c.sum(0);
  const auto uni = truth + predicted - tp;
  std::vector<double> iou;
  for (std::int64_t k = 0; k < c.size(0); ++k) {
    const double u = uni[k].item<double>();
    iou.push_back(u > 0 ? tp[k].item<double>() / u : std::nan(""));
  }
  return iou;
}

}  // namespace

Metrics SegmentationEvaluator::metrics() const {
  const std::vector<double> iou = class_iou(confusion_);
  double iou_sum = 0.0;
  int seen = 0;
  for (double v : iou) {
    if (!std::isnan(v)) iou_sum += v, ++seen;
  }
  const auto c = confusion_.to(torch::kDouble);
  const double total = c.sum().item<double>();
  const auto truth = c.sum(1);
  double accuracy_sum = 0.0;
  int present = 0;
  for (std::int64_t k = 0; k < c.size(0); ++k) {
    const double t = truth[k].item<double>();
    if (t > 0) accuracy_sum += c[k][k].item<double>() / t, ++present;
  }
  return {{{"mIoU", seen ? iou_sum / seen : 0.0},
           {"pixel_accuracy", total > 0 ? c.diagonal().sum().item<double>() / total : 0.0},
           {"mean_class_accuracy", present ? accuracy_sum / present : 0.0}}};
}

nlohmann::json SegmentationEvaluator::details() const {
  nlohmann::json iou = nlohmann::json::array();
  for (double v : class_iou(confusion_)) iou.push_back(std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v));
  nlohmann::json confusion = nlohmann::json::array();
  for (std::int64_t r = 0; r < confusion_.size(0); ++r) {
    std::vector<std::int64_t> row(static_cast<std::size_t>(confusion_.size(1)));
    for (std::int64_t k = 0; k < confusion_.size(1); ++k)
      row[static_cast<std::size_t>(k)] = confusion_[r][k].item<std::int64_t>();
    confusion.push_back(row);
  }
  return {{"class_names", spec_.class_names}, {"iou", iou}, {"confusion", confusion}};
}

}  // namespace lidere::tasks
