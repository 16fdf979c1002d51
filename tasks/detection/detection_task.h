// Object detection, CenterNet-style with the official multi-head readout (method.md section 3,
// PlantDoc): three LiDeRe heads from one backbone pass, "centers_gauss" (1 channel, out_bias -5),
// "centers_size" (2) and "class_embeddings" (4, through embed_proj to classes + background,
// "class_logits"); targets, loss and decoding in tasks/detection/centernet.h; evaluation by the
// COCO box evaluator (tasks/coco/coco_eval.h), pycocotools' 12 numbers, AP selecting the best
// checkpoint.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tasks/coco/coco_eval.h"
#include "tasks/detection/centernet.h"
#include "tasks/options.h"
#include "tasks/task.h"

namespace lidere::tasks {

struct DetectionSpec {
  std::vector<std::string> class_names;
  std::vector<std::int64_t> category_ids;  // per class (the dataset's COCO ids); default 1..N
  std::int64_t embedding_channels = 4;     // the official class-embedding head
  detection::DecodeSettings decode;
  detection::LossWeights weights;
  std::int64_t classes() const { return static_cast<std::int64_t>(class_names.size()); }
};

// Options: peak_threshold, nms_iou, max_boxes, class_threshold, embedding_channels, and the loss
// weights heatmap_weight, size_weight, class_weight.
const OptionTable& detection_options();
std::unique_ptr<Task> make_detection_task(const nlohmann::json& description);

class DetectionTask : public Task {
 public:
  explicit DetectionTask(DetectionSpec spec);
  std::string name() const override { return "detect"; }
  readout::HeadLayout heads() const override;
  // targets["heatmap"] (B, H, W), ["sizes"] (B, 2, H, W), ["labels"] (B, H, W) at the input size.
  void build_targets(data::Batch& batch) const override;
  torch::Tensor loss(const Outputs& outputs, const data::Batch& batch) const override;
  // {"detections": (N, 6) float64: x0, y0, x1, y1 in the image's pixels, score, class index}.
  Outputs results(const Outputs& outputs, std::int64_t rows, std::int64_t cols) const override;
  std::unique_ptr<Evaluator> evaluator() const override;
  nlohmann::json describe() const override;
  const DetectionSpec& spec() const { return spec_; }

 private:
  DetectionSpec spec_;
};

// COCOeval('bbox') over the images added: ground truth from the annotation's boxes (ignore boxes
// as crowd regions, area = w x h), detections from results["detections"].
class DetectionEvaluator : public Evaluator {
 public:
  explicit DetectionEvaluator(DetectionSpec spec);
  void add(const Outputs& results, const data::Annotation& truth) override;
  // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (COCOeval.stats order).
  Metrics metrics() const override;
  // {"stats": [12], "per_class_ap": {name: AP}, "images", "ground_truth", "detections"}.
  nlohmann::json details() const override;
  const coco::EvalResult& result() const;

 private:
  DetectionSpec spec_;
  data::CocoSet truth_;
  std::vector<data::CocoObject> detections_;
  mutable std::unique_ptr<coco::EvalResult> result_;
};

}  // namespace lidere::tasks
