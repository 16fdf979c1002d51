// Semantic segmentation (method.md section 3): one head of class logits. Cross-entropy at the
// readout's output resolution against labels downsampled with nearest neighbour, pixels of the
// ignore index left out; for evaluation the logits are upsampled bilinearly to each label's own
// size and the argmax is compared with it (confusion matrix -> mIoU, per-class IoU, pixel accuracy).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tasks/options.h"
#include "tasks/task.h"

namespace lidere::tasks {

struct SegmentationSpec {
  std::vector<std::string> class_names;
  std::int64_t ignore_index = 255;
  std::int64_t classes() const { return static_cast<std::int64_t>(class_names.size()); }
};

// Options: ignore_index (-1: the dataset's).
const OptionTable& segmentation_options();
// What a first run trains with (tasks/registry.h TaskEntry::training_defaults).
nlohmann::json segmentation_training_defaults();
// From a description {"task": "seg", "class_names": [...], "ignore_index": N}.
std::unique_ptr<Task> make_segmentation_task(const nlohmann::json& description);

class SegmentationTask : public Task {
 public:
  explicit SegmentationTask(SegmentationSpec spec);
  std::string name() const override { return "seg"; }
  // One head, "logits", a channel per class.
  readout::HeadLayout heads() const override;
  // targets["labels"]: (B, H, W) int64 label maps at the input size.
  void build_targets(data::Batch& batch) const override;
  torch::Tensor loss(const Outputs& outputs, const data::Batch& batch) const override;
  // {"logits": (C, rows, cols)}, bilinearly upsampled.
  Outputs results(const Outputs& outputs, std::int64_t rows, std::int64_t cols) const override;
  std::unique_ptr<Evaluator> evaluator() const override;
  nlohmann::json describe() const override;
  const SegmentationSpec& spec() const { return spec_; }

 private:
  SegmentationSpec spec_;
};

// Class scores (B, C, h, w) -> (B, C, rows, cols), bilinear with align_corners=False (the
// official trilinear upsampling over a depth of one is exactly this).
torch::Tensor upsample_logits(const torch::Tensor& logits, std::int64_t rows, std::int64_t cols);

// Accumulates a confusion matrix (rows: ground truth, columns: prediction).
class SegmentationEvaluator : public Evaluator {
 public:
  explicit SegmentationEvaluator(SegmentationSpec spec);
  // results["logits"] (C, H, W) against the annotation's label map (H, W).
  void add(const Outputs& results, const data::Annotation& truth) override;
  // Adds a predicted class map (h, w) against its label (h, w) directly.
  void add_prediction(const torch::Tensor& predicted, const torch::Tensor& label);
  // mIoU (mean over classes that occur in the labels or the predictions), pixel accuracy, and
  // mean class accuracy, all in [0, 1].
  Metrics metrics() const override;
  // {"class_names", "iou" (null for a class never seen), "confusion" (rows = truth)}.
  nlohmann::json details() const override;
  const torch::Tensor& confusion() const { return confusion_; }

 private:
  SegmentationSpec spec_;
  torch::Tensor confusion_;  // (C, C) int64
};

}  // namespace lidere::tasks
