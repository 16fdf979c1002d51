#include "tasks/boundary/boundary_task.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/parallel.h"
#include "tasks/boundary/postprocess.h"

namespace lidere::tasks {

const OptionTable& boundary_options() {
  const BoundarySpec d;
  static const OptionTable table = {
      OptionSpec("balanced", d.balanced, "class-balanced BCE (HED) instead of the official unweighted one")
          .carried_by_checkpoints(),
      OptionSpec("thresholds", d.thresholds, "benchmark thresholds of the PR curve (validation and eval)")
          .on_command_line("--thresholds", kTrainCommand | kEvalCommand)
          .formerly("val_thresholds"),
      OptionSpec("max_dist", d.max_dist, "benchmark match distance, a fraction of the image diagonal")
          .on_command_line("--max-dist", kEvalCommand),
      OptionSpec("nms_tolerance", d.nms_tolerance, "non-maximum suppression tolerance of the post-processing; "
                                                   "negative: none")
          .on_command_line("--nms-tol", kEvalCommand | kPredictCommand)
          .carried_by_checkpoints(),
      OptionSpec("thin", d.thin, "thin thresholded maps before matching (--no-thin: do not)")
          .switch_on_command_line("--no-thin", kEvalCommand),
      OptionSpec("tile", d.tile, "inference tile size in image pixels (official 200); 0: whole images")
          .on_command_line("--tile", kEvalCommand | kPredictCommand),
      OptionSpec("overlap", d.overlap, "tile overlap in pixels (-1: a fifth of the tile, as the official)")
          .on_command_line("--overlap", kEvalCommand | kPredictCommand),
      OptionSpec("bits", d.bits, "predicted maps as 8-bit (official) or 16-bit PNGs")
          .on_command_line("--bits", kPredictCommand),
  };
  return table;
}

nlohmann::json boundary_training_defaults() {
  // The class-balanced loss: after a CPU-length run the official unweighted BCE leaves the maps
  // below 0.1, ODS 0.593 against 0.663 balanced (docs/results.md, BSDS500).
  return {{"lr", 0.01}, {"iterations", 1200}, {"task_options", {{"balanced", true}}}};
}

std::unique_ptr<Task> make_boundary_task(const nlohmann::json& description) {
  const nlohmann::json o = resolve_options(boundary_options(), description, "boundary", {"class_names", "target_side"});
  BoundarySpec spec;
  spec.balanced = o.at("balanced").get<bool>();
  spec.thresholds = o.at("thresholds").get<int>();
  spec.max_dist = o.at("max_dist").get<double>();
  spec.nms_tolerance = o.at("nms_tolerance").get<double>();
  spec.thin = o.at("thin").get<bool>();
  spec.tile = o.at("tile").get<std::int64_t>();
  spec.overlap = o.at("overlap").get<std::int64_t>();
  spec.bits = o.at("bits").get<int>();
  spec.target_side = description.value("target_side", std::int64_t{0});
  return std::make_unique<BoundaryTask>(spec);
}

BoundaryTask::BoundaryTask(BoundarySpec spec) : spec_(spec) {
  if (spec_.thresholds < 1) throw UsageError("the boundary benchmark needs at least one threshold");
  if (!(spec_.max_dist > 0)) throw UsageError("the boundary benchmark's maximum distance must be positive");
  if (spec_.bits != 8 && spec_.bits != 16) throw UsageError("--bits: 8 or 16");
  make_tiling(spec_.tile, spec_.overlap);  // checks the tile settings up front
}

readout::HeadLayout BoundaryTask::heads() const { return {{{"logits", 1, 0.0}}, {}}; }

Tiling BoundaryTask::tiling() const { return make_tiling(spec_.tile, spec_.overlap); }

torch::Tensor soft_target(const torch::Tensor& annotator_maps) {
  torch::Tensor sum = torch::zeros({annotator_maps.size(1), annotator_maps.size(2)}, torch::kFloat);
  for (std::int64_t k = 0; k < annotator_maps.size(0); ++k) sum += annotator_maps[k].to(torch::kFloat);
  return sum / static_cast<double>(annotator_maps.size(0));
}

void BoundaryTask::build_targets(data::Batch& batch) const {
  const std::int64_t rows = std::max(batch.images.size(2), spec_.target_side),
                     cols = std::max(batch.images.size(3), spec_.target_side);
  std::vector<torch::Tensor> targets;
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const auto& annotation = batch.annotations[static_cast<std::size_t>(i)];
    if (!annotation.annotator_maps) throw InputError(batch.names[static_cast<std::size_t>(i)] + ": no boundary maps");
    targets.push_back(
        soft_target(annotation.annotator_maps->transformed(batch.transforms[static_cast<std::size_t>(i)], rows, cols).maps));
  }
  batch.targets["soft"] = torch::stack(targets);
}

torch::Tensor BoundaryTask::loss(const Outputs& outputs, const data::Batch& batch) const {
  const torch::Tensor& logits = outputs.at("logits");
  const torch::Tensor target = batch.targets.at("soft").to(logits.device(), torch::kFloat).unsqueeze(1);
  torch::Tensor x = logits.to(torch::kFloat);
  if (x.size(2) != target.size(2) || x.size(3) != target.size(3)) {
    x = at::upsample_bilinear2d(x, {target.size(2), target.size(3)}, /*align_corners=*/false);
  }
  if (!spec_.balanced) return at::binary_cross_entropy_with_logits(x, target);
  // -[b t log s(x) + (1 - b)(1 - t) log(1 - s(x))] = (1 - b) * BCE with pos_weight b / (1 - b).
  const torch::Tensor negatives = (target == 0).to(torch::kFloat).mean({1, 2, 3}, /*keepdim=*/true);
  const torch::Tensor b = negatives.clamp(1e-6, 1 - 1e-6);
  const torch::Tensor per_pixel = at::binary_cross_entropy_with_logits(x, target, {}, b / (1 - b), at::Reduction::None);
  return ((1 - b) * per_pixel).mean();
}

std::unique_ptr<Evaluator> BoundaryTask::evaluator() const { return std::make_unique<BoundaryEvaluator>(spec_); }

Outputs BoundaryTask::results(const Outputs& outputs, std::int64_t rows, std::int64_t cols) const {
  return {{"probabilities", boundary_probabilities(outputs.at("logits")[0], rows, cols).unsqueeze(0)}};
}

nlohmann::json BoundaryTask::describe() const {
  return {{"task", name()},
          {"class_names", {"boundary"}},
          {"balanced", spec_.balanced},
          {"thresholds", spec_.thresholds},
          {"max_dist", spec_.max_dist},
          {"nms_tolerance", spec_.nms_tolerance},
          {"thin", spec_.thin},
          {"tile", spec_.tile},
          {"overlap", spec_.overlap},
          {"bits", spec_.bits},
          {"target_side", spec_.target_side}};
}

torch::Tensor boundary_probabilities(const torch::Tensor& logits, std::int64_t rows, std::int64_t cols) {
  torch::Tensor p = logits.to(torch::kFloat).sigmoid().unsqueeze(0);
  if (p.size(2) != rows || p.size(3) != cols) p = at::upsample_bilinear2d(p, {rows, cols}, false);
  return p[0][0];
}

std::vector<float> postprocess_boundaries(const torch::Tensor& probabilities, double nms_tolerance) {
  const torch::Tensor p = probabilities.to(torch::kFloat).cpu().contiguous();
  std::vector<float> map(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  boundary::zero_below(map, 0.01f);
  if (nms_tolerance < 0) return map;
  return boundary::suppress_non_maxima(map, static_cast<int>(p.size(0)), static_cast<int>(p.size(1)),
                                       static_cast<float>(nms_tolerance));
}

std::vector<double> benchmark_levels(const torch::Tensor& probabilities, double nms_tolerance) {
  std::vector<double> map;
  for (std::uint8_t level : boundary::to_8bit(postprocess_boundaries(probabilities, nms_tolerance)))
    map.push_back(level / 255.0);
  return map;
}

BoundaryEvaluator::BoundaryEvaluator(BoundarySpec spec) : spec_(spec) {}

void BoundaryEvaluator::add(const Outputs& results, const data::Annotation& truth) {
  if (!truth.annotator_maps) throw InputError("boundary evaluation: the annotation has no boundary maps");
  add_map(benchmark_levels(results.at("probabilities")[0], spec_.nms_tolerance), truth.annotator_maps->maps);
}

void BoundaryEvaluator::add_map(std::vector<double> map, const torch::Tensor& annotators) {
  const torch::Tensor a = annotators.to(torch::kUInt8).cpu().contiguous();
  if (a.dim() != 3 || static_cast<std::int64_t>(map.size()) != a.size(1) * a.size(2)) {
    throw InputError("boundary evaluation: the map and its annotators' maps differ in size");
  }
  Pending entry{std::move(map), {}};
  for (std::int64_t k = 0; k < a.size(0); ++k) {
    boundary::BinaryMap m(static_cast<int>(a.size(1)), static_cast<int>(a.size(2)));
    std::copy(a[k].data_ptr<std::uint8_t>(), a[k].data_ptr<std::uint8_t>() + m.data.size(), m.data.begin());
    entry.truth.push_back(std::move(m));
  }
  pending_.push_back(std::move(entry));
  summary_.reset();
}

const boundary::BenchmarkSummary& BoundaryEvaluator::summary() const {
  if (summary_) return *summary_;
  const std::size_t scored = counts_.size();
  counts_.resize(pending_.size());
  const std::vector<double> thresholds = boundary::default_thresholds(spec_.thresholds);
  parallel_for(pending_.size() - scored, 0, [&](std::size_t j) {
    const Pending& p = pending_[scored + j];
    counts_[scored + j] = boundary::evaluate_image(p.map, p.truth.front().rows, p.truth.front().cols, p.truth,
                                                   thresholds, spec_.max_dist, spec_.thin);
  });
  summary_ = std::make_unique<boundary::BenchmarkSummary>(counts_.empty() ? boundary::BenchmarkSummary{}
                                                                          : boundary::collect(counts_));
  return *summary_;
}

std::vector<std::string> BoundaryEvaluator::write_files(const std::string& dir) const {
  boundary::write_eval_files(summary(), dir);
  return {"eval_bdry.txt", "eval_bdry_thr.txt", "eval_bdry_img.txt"};
}

Metrics BoundaryEvaluator::metrics() const {
  const auto& s = summary();
  return {{{"ODS", s.ods.f},
           {"OIS", s.ois.f},
           {"AP", s.ap},
           {"ODS_recall", s.ods.recall},
           {"ODS_precision", s.ods.precision},
           {"ODS_threshold", s.ods.threshold}}};
}

nlohmann::json BoundaryEvaluator::details() const {
  const auto& s = summary();
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& p : s.per_threshold) {
    curve.push_back({{"threshold", p.threshold}, {"recall", p.recall}, {"precision", p.precision}, {"f", p.f}});
  }
  return {{"per_threshold", curve},
          {"ods", {{"threshold", s.ods.threshold}, {"recall", s.ods.recall}, {"precision", s.ods.precision}}},
          {"ois", {{"recall", s.ois.recall}, {"precision", s.ois.precision}, {"f", s.ois.f}}},
          {"ap", s.ap},
          {"images", counts_.size()}};
}

}  // namespace lidere::tasks
