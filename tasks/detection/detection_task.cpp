#include "tasks/detection/detection_task.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace lidere::tasks {

const OptionTable& detection_options() {
  const DetectionSpec d;
  static const OptionTable table = {
      OptionSpec("peak_threshold", d.decode.peak_threshold, "centre score a peak must exceed (official 0.01)")
          .on_command_line("--peak-threshold", kEvalCommand | kPredictCommand)
          .carried_by_checkpoints(),
      OptionSpec("nms_iou", d.decode.nms_iou, "IoU above which class-agnostic NMS drops the lower box")
          .on_command_line("--nms-iou", kEvalCommand | kPredictCommand)
          .carried_by_checkpoints(),
      OptionSpec("max_boxes", d.decode.max_boxes, "boxes kept per image after NMS (official 200)")
          .on_command_line("--max-boxes", kEvalCommand | kPredictCommand)
          .carried_by_checkpoints(),
      OptionSpec("class_threshold", d.decode.class_threshold,
                 "class probability a box needs to give a detection of that class (official 0.05)")
          .on_command_line("--conf", kEvalCommand | kPredictCommand)
          .carried_by_checkpoints(),
      OptionSpec("embedding_channels", d.embedding_channels, "channels of the class-embedding head (official 4)")
          .carried_by_checkpoints(),
      OptionSpec("heatmap_weight", d.weights.heatmap, "weight of the centre focal loss (official 50)"),
      OptionSpec("size_weight", d.weights.size, "weight of the size L1 loss (official 1)"),
      OptionSpec("class_weight", d.weights.classes, "weight of the class cross-entropy (official 0.2)"),
  };
  return table;
}

std::unique_ptr<Task> make_detection_task(const nlohmann::json& description) {
  DetectionSpec spec;
  spec.class_names = description.at("class_names").get<std::vector<std::string>>();
  spec.category_ids = description.value("category_ids", std::vector<std::int64_t>{});
  const nlohmann::json o =
      resolve_options(detection_options(), description, "detect", {"class_names", "category_ids"});
  spec.decode.peak_threshold = o.at("peak_threshold").get<double>();
  spec.decode.nms_iou = o.at("nms_iou").get<double>();
  spec.decode.max_boxes = o.at("max_boxes").get<std::int64_t>();
  spec.decode.class_threshold = o.at("class_threshold").get<double>();
  spec.embedding_channels = o.at("embedding_channels").get<std::int64_t>();
  spec.weights.heatmap = o.at("heatmap_weight").get<double>();
  spec.weights.size = o.at("size_weight").get<double>();
  spec.weights.classes = o.at("class_weight").get<double>();
  return std::make_unique<DetectionTask>(std::move(spec));
}

DetectionTask::DetectionTask(DetectionSpec spec) : spec_(std::move(spec)) {
  if (spec_.classes() < 1) throw UsageError("a detection task needs at least one class");
  if (spec_.category_ids.empty()) {
    for (std::int64_t c = 1; c <= spec_.classes(); ++c) spec_.category_ids.push_back(c);
  }
  if (static_cast<std::int64_t>(spec_.category_ids.size()) != spec_.classes()) {
    throw UsageError(fmt::format("detection: {} category ids for {} classes", spec_.category_ids.size(), spec_.classes()));
  }
  if (spec_.embedding_channels < 1) throw UsageError("detection: embedding_channels must be at least 1");
  if (!(spec_.decode.nms_iou > 0 && spec_.decode.nms_iou <= 1)) throw UsageError("detection: nms_iou must be in (0, 1]");
  if (spec_.decode.max_boxes < 1) throw UsageError("detection: max_boxes must be at least 1");
}

readout::HeadLayout DetectionTask::heads() const {
  return {{{"centers_gauss", 1, -5.0}, {"centers_size", 2, 0.0}, {"class_embeddings", spec_.embedding_channels, 0.0}},
          readout::EmbeddingSpec{"class_embeddings", "class_logits", spec_.classes() + 1}};
}

void DetectionTask::build_targets(data::Batch& batch) const {
  const std::int64_t rows = batch.images.size(2), cols = batch.images.size(3);
  std::vector<torch::Tensor> heat, sizes, labels;
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const auto& annotation = batch.annotations[static_cast<std::size_t>(i)];
    if (!annotation.boxes) throw InputError(batch.names[static_cast<std::size_t>(i)] + ": no boxes");
    const auto t = detection::make_targets(
        annotation.boxes->transformed(batch.transforms[static_cast<std::size_t>(i)], rows, cols), rows, cols);
    heat.push_back(t.heatmap);
    sizes.push_back(t.sizes);
    labels.push_back(t.labels);
  }
  batch.targets["heatmap"] = torch::stack(heat);
  batch.targets["sizes"] = torch::stack(sizes);
  batch.targets["labels"] = torch::stack(labels);
}

torch::Tensor DetectionTask::loss(const Outputs& outputs, const data::Batch& batch) const {
  return detection::centernet_loss(outputs.at("centers_gauss"), outputs.at("centers_size"), outputs.at("class_logits"),
                                   batch.targets.at("heatmap"), batch.targets.at("sizes"), batch.targets.at("labels"),
                                   spec_.weights)
      .total;
}

Outputs DetectionTask::results(const Outputs& outputs, std::int64_t rows, std::int64_t cols) const {
  const auto first = [&](const char* name) { return outputs.at(name)[0].to(torch::kCPU, torch::kFloat); };
  return {{"detections",
           detection::decode_detections(first("centers_gauss"), first("centers_size"), first("class_logits"), rows, cols,
                                        spec_.decode)}};
}

std::unique_ptr<Evaluator> DetectionTask::evaluator() const { return std::make_unique<DetectionEvaluator>(spec_); }

nlohmann::json DetectionTask::describe() const {
  return {{"task", name()},
          {"class_names", spec_.class_names},
          {"category_ids", spec_.category_ids},
          {"peak_threshold", spec_.decode.peak_threshold},
          {"nms_iou", spec_.decode.nms_iou},
          {"max_boxes", spec_.decode.max_boxes},
          {"class_threshold", spec_.decode.class_threshold},
          {"embedding_channels", spec_.embedding_channels},
          {"heatmap_weight", spec_.weights.heatmap},
          {"size_weight", spec_.weights.size},
          {"class_weight", spec_.weights.classes}};
}

DetectionEvaluator::DetectionEvaluator(DetectionSpec spec) : spec_(std::move(spec)) {
  for (std::int64_t c = 0; c < spec_.classes(); ++c) {
    truth_.categories.push_back({spec_.category_ids[static_cast<std::size_t>(c)],
                                 spec_.class_names[static_cast<std::size_t>(c)], "", {}, {}});
  }
}

void DetectionEvaluator::add(const Outputs& results, const data::Annotation& truth) {
  if (!truth.boxes) throw InputError("detection evaluation: the annotation has no boxes");
  const std::int64_t image_id = static_cast<std::int64_t>(truth_.images.size()) + 1;
  truth_.images.push_back({image_id, "", 0, 0});
  const auto category = [&](double index) {
    const auto c = static_cast<std::int64_t>(index);
    if (c < 0 || c >= spec_.classes()) throw InputError(fmt::format("detection evaluation: class index {} out of range", c));
    return spec_.category_ids[static_cast<std::size_t>(c)];
  };
  const data::Boxes& b = *truth.boxes;
  if (b.size() > 0) {
    const torch::Tensor xyxy = b.xyxy.to(torch::kDouble).contiguous();
    const torch::Tensor classes = b.classes.to(torch::kDouble).contiguous();
    const torch::Tensor ignore = b.ignore.defined() ? b.ignore.to(torch::kBool).contiguous() : torch::zeros({b.size()}, torch::kBool);
    for (std::int64_t n = 0; n < b.size(); ++n) {
      data::CocoObject o;
      o.id = static_cast<std::int64_t>(truth_.annotations.size()) + 1;  // from 1: pycocotools reads 0 as unmatched
      o.image_id = image_id;
      o.category_id = category(classes[n].item<double>());
      const double* x = xyxy.data_ptr<double>() + 4 * n;
      o.bbox = {x[0], x[1], x[2] - x[0], x[3] - x[1]};
      o.area = o.bbox[2] * o.bbox[3];
      o.iscrowd = ignore[n].item<bool>();
      truth_.annotations.push_back(std::move(o));
    }
  }
  const torch::Tensor d = results.at("detections").to(torch::kCPU, torch::kDouble).contiguous();
  for (std::int64_t n = 0; n < d.size(0); ++n) {
    const double* x = d.data_ptr<double>() + 6 * n;
    data::CocoObject o;
    o.id = static_cast<std::int64_t>(detections_.size()) + 1;
    o.image_id = image_id;
    o.category_id = category(x[5]);
    o.bbox = {x[0], x[1], x[2] - x[0], x[3] - x[1]};
    o.area = o.bbox[2] * o.bbox[3];
    o.score = x[4];
    detections_.push_back(std::move(o));
  }
  result_.reset();
}

const coco::EvalResult& DetectionEvaluator::result() const {
  if (!result_) result_ = std::make_unique<coco::EvalResult>(coco::evaluate_boxes(truth_, detections_));
  return *result_;
}

Metrics DetectionEvaluator::metrics() const {
  const auto& r = result();
  Metrics m;
  for (std::size_t i = 0; i < r.stats.size(); ++i) m.values.emplace_back(coco::bbox_stat_names()[i], r.stats[i]);
  return m;
}

nlohmann::json DetectionEvaluator::details() const {
  const auto& r = result();
  nlohmann::json per_class = nlohmann::json::object();
  for (std::size_t k = 0; k < r.category_ids.size(); ++k) {
    const auto it = std::find(spec_.category_ids.begin(), spec_.category_ids.end(), r.category_ids[k]);
    const auto index = static_cast<std::size_t>(it - spec_.category_ids.begin());
    per_class[spec_.class_names[index]] = r.category_ap[k];
  }
  return {{"stats", r.stats},
          {"stat_names", coco::bbox_stat_names()},
          {"per_class_ap", per_class},
          {"images", truth_.images.size()},
          {"ground_truth", truth_.annotations.size()},
          {"detections", detections_.size()}};
}

}  // namespace lidere::tasks
