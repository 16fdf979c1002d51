// Boundary detection (method.md section 3, BSDS500): one output channel of boundary logits.
//   Loss: the logits bilinearly upsampled to the target's size (the official trilinear resize over
//   a depth of one), binary cross-entropy with logits against the soft target (the mean of the
//   annotators' maps), unweighted as the official code; optionally class-balanced as HED (Xie and
//   Tu 2015): with b the fraction of pixels whose target is 0, the positive term weighs b and the
//   negative term 1 - b, per image.
//   Evaluation: sigmoid, bilinear to each image's ground-truth size (the official predict_contour
//   order), the official post-processing (floor 0.01, non-maximum suppression, 8-bit levels as the
//   PNG it writes) and the BSDS benchmark against every annotator: ODS, OIS, AP.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tasks/boundary/bsds_benchmark.h"
#include "tasks/options.h"
#include "tasks/task.h"

namespace lidere::tasks {

// The task's settings; every default is in boundary_options().
struct BoundarySpec {
  bool balanced = false;        // class-balanced BCE instead of the official unweighted one
  int thresholds = 99;          // benchmark thresholds
  double max_dist = 0.0075;     // benchmark matching distance, fraction of the image diagonal
  double nms_tolerance = 0.07;  // the official eval_boundaries' tolerance; < 0: no suppression
  bool thin = true;             // thin thresholded maps before matching (the benchmark's default)
  std::int64_t tile = 200, overlap = -1;  // inference tiles (official 200, overlap int(0.2 x tile)); 0: whole
  int bits = 8;                           // predicted maps as 8-bit (official) or 16-bit PNGs
  // Training targets are resized to no less than this side (the data's largest image side), so
  // that 1-pixel boundaries survive; 0: the input size.
  std::int64_t target_side = 0;
};

// Options: balanced, thresholds (alias val_thresholds), max_dist, nms_tolerance, thin, tile,
// overlap, bits; and the data-derived field target_side.
const OptionTable& boundary_options();
// What a first run trains with (tasks/registry.h TaskEntry::training_defaults).
nlohmann::json boundary_training_defaults();
std::unique_ptr<Task> make_boundary_task(const nlohmann::json& description);

class BoundaryTask : public Task {
 public:
  explicit BoundaryTask(BoundarySpec spec);
  std::string name() const override { return "boundary"; }
  // One head, "logits", one channel.
  readout::HeadLayout heads() const override;
  // targets["soft"]: (B, R, C) float, the mean of the annotators' maps (soft_target) at
  // R = max(input rows, target_side), C = max(input cols, target_side).
  void build_targets(data::Batch& batch) const override;
  torch::Tensor loss(const Outputs& outputs, const data::Batch& batch) const override;
  // {"probabilities": (1, rows, cols)}: sigmoid, then bilinear (the official predict_contour order).
  Outputs results(const Outputs& outputs, std::int64_t rows, std::int64_t cols) const override;
  Tiling tiling() const override;
  // Against the annotation's annotator maps (K, H, W) at the image's resolution.
  std::unique_ptr<Evaluator> evaluator() const override;
  nlohmann::json describe() const override;
  const BoundarySpec& spec() const { return spec_; }

 private:
  BoundarySpec spec_;
};

// Boundary probabilities (rows, cols) float32 of one image's logits (1, h, w): sigmoid, then
// bilinear (align_corners=False) to the image's size.
torch::Tensor boundary_probabilities(const torch::Tensor& logits, std::int64_t rows, std::int64_t cols);

// The official soft target: the mean of the annotators' maps (K, H, W) -> (H, W) float32.
torch::Tensor soft_target(const torch::Tensor& annotator_maps);

// The official post-processing of a probability map (rows, cols): values below 0.01 -> 0, then
// non-maximum suppression with `nms_tolerance` (none when negative). Row-major floats.
std::vector<float> postprocess_boundaries(const torch::Tensor& probabilities, double nms_tolerance);

// What the official evaluation scores: the post-processed map in the 8-bit levels of the PNG it
// writes (truncated, pred.mul(255).byte()) and the benchmark reads back (/ 255).
std::vector<double> benchmark_levels(const torch::Tensor& probabilities, double nms_tolerance);

// Scores images with the BSDS benchmark; maps are stored as added and scored on all cores when the
// metrics are first asked for.
class BoundaryEvaluator : public Evaluator {
 public:
  explicit BoundaryEvaluator(BoundarySpec spec);
  // results["probabilities"] (1, H, W) against the annotation's annotator maps.
  void add(const Outputs& results, const data::Annotation& truth) override;
  // Adds a post-processed map (row-major, values in [0, 1]) against its annotators' maps (K, H, W).
  void add_map(std::vector<double> map, const torch::Tensor& annotators);
  // ODS F, OIS F, AP, then the ODS point's recall, precision and threshold.
  Metrics metrics() const override;
  // {"per_threshold": [{threshold, recall, precision, f}...], "ois": {...}}.
  nlohmann::json details() const override;
  // The original benchmark's eval_bdry.txt, eval_bdry_thr.txt and eval_bdry_img.txt.
  std::vector<std::string> write_files(const std::string& dir) const override;
  // Everything the benchmark computed (for the original's eval_bdry*.txt files).
  const boundary::BenchmarkSummary& summary() const;

 private:
  struct Pending {
    std::vector<double> map;
    std::vector<boundary::BinaryMap> truth;
  };
  BoundarySpec spec_;
  std::vector<Pending> pending_;
  mutable std::vector<boundary::ImageCounts> counts_;
  mutable std::unique_ptr<boundary::BenchmarkSummary> summary_;
};

}  // namespace lidere::tasks
