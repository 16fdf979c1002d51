#include "tasks/boundary/boundary_task.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/parallel.h"
#include "tasks/boundary/postprocess.h"

namespace lidere::tasks {

BoundaryTask::BoundaryTask(BoundarySpec spec) : spec_(spec) {
  if (spec_.thresholds < 1) throw UsageError("the boundary benchmark needs at least one threshold");
  if (!(spec_.max_dist > 0)) throw UsageError("the boundary benchmark's maximum distance must be positive");
}

torch::Tensor BoundaryTask::loss(const torch::Tensor& logits, const Batch& batch) const {
  const torch::Tensor target = torch::stack(batch.targets).to(logits.device(), torch::kFloat).unsqueeze(1);
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

nlohmann::json BoundaryTask::describe() const {
  return {{"task", name()},
          {"class_names", {"boundary"}},
          {"balanced", spec_.balanced},
          {"thresholds", spec_.thresholds},
          {"max_dist", spec_.max_dist},
          {"nms_tolerance", spec_.nms_tolerance}};
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

void BoundaryEvaluator::add(const torch::Tensor& logits, const Batch& batch) {
  for (std::int64_t i = 0; i < batch.size(); ++i) {
    const torch::Tensor& annotators = batch.targets[static_cast<std::size_t>(i)];
    const torch::Tensor p = boundary_probabilities(logits[i].cpu(), annotators.size(1), annotators.size(2));
    add_map(benchmark_levels(p, spec_.nms_tolerance), annotators);
  }
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
                                                   thresholds, spec_.max_dist);
  });
  summary_ = std::make_unique<boundary::BenchmarkSummary>(counts_.empty() ? boundary::BenchmarkSummary{}
                                                                          : boundary::collect(counts_));
  return *summary_;
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
