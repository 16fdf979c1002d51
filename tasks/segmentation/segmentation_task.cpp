#include "tasks/segmentation/segmentation_task.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace lidere::tasks {

SegmentationTask::SegmentationTask(SegmentationSpec spec) : spec_(std::move(spec)) {
  if (spec_.classes() < 1) throw UsageError("a segmentation task needs at least one class");
}

torch::Tensor upsample_logits(const torch::Tensor& logits, std::int64_t rows, std::int64_t cols) {
  if (logits.size(2) == rows && logits.size(3) == cols) return logits;
  return at::upsample_bilinear2d(logits, {rows, cols}, /*align_corners=*/false);
}

torch::Tensor SegmentationTask::loss(const torch::Tensor& logits, const Batch& batch) const {
  const torch::Tensor labels = torch::stack(batch.targets).to(logits.device());
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

std::unique_ptr<Evaluator> SegmentationTask::evaluator() const {
  return std::make_unique<SegmentationEvaluator>(spec_);
}

nlohmann::json SegmentationTask::describe() const {
  return {{"task", name()}, {"class_names", spec_.class_names}, {"ignore_index", spec_.ignore_index}};
}

SegmentationEvaluator::SegmentationEvaluator(SegmentationSpec spec)
    : spec_(std::move(spec)), confusion_(torch::zeros({spec_.classes(), spec_.classes()}, torch::kLong)) {}

void SegmentationEvaluator::add(const torch::Tensor& logits, const Batch& batch) {
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const torch::Tensor& label = batch.targets[static_cast<std::size_t>(i)];
    const torch::Tensor scores =
        upsample_logits(logits.slice(0, i, i + 1).to(torch::kFloat), label.size(0), label.size(1));
    add_prediction(scores[0].argmax(0).cpu(), label);
  }
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
