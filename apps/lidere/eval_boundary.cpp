// lidere eval --task boundary --pred DIR --gt DIR: scores any boundary predictions with the BSDS
// benchmark (tasks/boundary/bsds_benchmark.h). Predictions are matched to the ground-truth files
// by name: <id>.png (or another image format: a soft or hard map, 8-bit levels / 255) or <id>.mat
// (an ultrametric contour map 'ucm2', or a collection of segmentations 'segs'). Images are scored
// on worker threads; the reports are the original's eval_bdry*.txt files plus a PR curve.
#include "apps/lidere/eval_boundary.h"

#include <algorithm>
#include <filesystem>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/image_io.h"
#include "core/parallel.h"
#include "core/plot.h"
#include "datasets/bsds.h"
#include "datasets/segmentation.h"
#include "tasks/boundary/bsds_benchmark.h"
#include "train/progress.h"
#include "train/run_dir.h"

namespace lidere::cli {
namespace {

namespace fs = std::filesystem;
using tasks::boundary::BinaryMap;

std::vector<BinaryMap> ground_truth_maps(const std::string& path) {
  std::vector<BinaryMap> maps;
  for (const auto& a : datasets::read_bsds_ground_truth(path)) {
    const torch::Tensor b = a.boundaries.to(torch::kUInt8).contiguous();
    BinaryMap m(static_cast<int>(b.size(0)), static_cast<int>(b.size(1)));
    std::copy(b.data_ptr<std::uint8_t>(), b.data_ptr<std::uint8_t>() + b.numel(), m.data.begin());
    maps.push_back(std::move(m));
  }
  return maps;
}

// The prediction for ground truth `id`: an image or a .mat file in `dir`.
fs::path find_prediction(const fs::path& dir, const std::string& id) {
  for (const char* ext : {".png", ".mat", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}) {
    const fs::path p = dir / (id + ext);
    if (fs::is_regular_file(p)) return p;
  }
  throw InputError(
      fmt::format("{}: no prediction for ground truth {} (expected {}.png or {}.mat)", dir.string(), id, id, id));
}

void check_size(const fs::path& prediction, std::int64_t rows, std::int64_t cols, const BinaryMap& truth,
                const std::string& gt_path) {
  if (rows != truth.rows || cols != truth.cols) {
    throw InputError(fmt::format("{}: prediction is {}x{} but its ground truth {} is {}x{}", prediction.string(), rows,
                                 cols, gt_path, truth.rows, truth.cols));
  }
}

tasks::boundary::ImageCounts score_image(const fs::path& prediction, const std::string& gt_path,
                                         const BoundaryEvalOptions& o) {
  const std::vector<BinaryMap> truth = ground_truth_maps(gt_path);
  const std::vector<double> thresholds = tasks::boundary::default_thresholds(o.thresholds);
  if (prediction.extension() == ".mat") {
    // An ultrametric contour map if the file has one (the benchmark's preference), else segs.
    if (datasets::mat_has_variable(prediction.string(), "ucm2")) {
      const torch::Tensor ucm = datasets::read_ucm2(prediction.string());
      check_size(prediction, ucm.size(0), ucm.size(1), truth.front(), gt_path);
      const std::vector<double> pb(ucm.data_ptr<double>(), ucm.data_ptr<double>() + ucm.numel());
      return tasks::boundary::evaluate_image(pb, truth.front().rows, truth.front().cols, truth, thresholds, o.max_dist,
                                             o.thin);
    }
    std::vector<BinaryMap> maps;
    for (const auto& seg : datasets::read_segs(prediction.string())) {
      check_size(prediction, seg.size(0), seg.size(1), truth.front(), gt_path);
      const std::vector<std::int64_t> labels(seg.data_ptr<std::int64_t>(), seg.data_ptr<std::int64_t>() + seg.numel());
      maps.push_back(tasks::boundary::segmentation_boundaries(labels, static_cast<int>(seg.size(0)),
                                                              static_cast<int>(seg.size(1))));
    }
    return tasks::boundary::evaluate_image_maps(maps, truth, o.max_dist, o.thin);
  }
  // The original reads double(imread(file)) / 255 (8-bit maps, exactly); 16-bit maps keep their
  // finer levels (/ 65535).
  const torch::Tensor levels = read_gray_levels(prediction.string()).contiguous();
  check_size(prediction, levels.size(0), levels.size(1), truth.front(), gt_path);
  const std::vector<double> pb(levels.data_ptr<double>(), levels.data_ptr<double>() + levels.numel());
  return tasks::boundary::evaluate_image(pb, truth.front().rows, truth.front().cols, truth, thresholds, o.max_dist,
                                         o.thin);
}

}  // namespace

int run_boundary_eval(const BoundaryEvalOptions& o) {
  if (o.pred.empty() || o.gt.empty()) {
    throw UsageError("--task boundary needs --pred (a folder of predictions) and --gt (a folder of ground-truth .mat)");
  }
  if (o.thresholds < 1) throw UsageError("--thresholds must be at least 1");
  if (!(o.max_dist > 0)) throw UsageError("--max-dist must be positive");
  for (const auto& [dir, what] : {std::pair{o.pred, "--pred"}, std::pair{o.gt, "--gt"}}) {
    if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: not a folder ({})", dir, what));
  }
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(o.gt)) {
    if (e.is_regular_file() && e.path().extension() == ".mat") ids.push_back(e.path().stem().string());
  }
  std::sort(ids.begin(), ids.end());
  if (ids.empty()) throw InputError(fmt::format("{}: no ground-truth .mat files", o.gt));
  std::vector<fs::path> predictions;
  for (const auto& id : ids) predictions.push_back(find_prediction(o.pred, id));  // all missing files up front

  // Images are the unit of parallel work; LibTorch's own threads (the few tensor conversions of
  // reading) would only spin against the workers.
  at::set_num_threads(1);
  std::vector<tasks::boundary::ImageCounts> counts(ids.size());
  train::Progress progress("boundary", static_cast<std::int64_t>(ids.size()), o.progress, 0, "img");
  parallel_for(
      ids.size(), o.workers,
      [&](std::size_t i) { counts[i] = score_image(predictions[i], (fs::path(o.gt) / (ids[i] + ".mat")).string(), o); },
      [&](std::size_t finished) { progress.update(static_cast<std::int64_t>(finished)); });
  progress.finish();

  const tasks::boundary::BenchmarkSummary s = tasks::boundary::collect(counts);
  fs::path out = o.out;
  if (out.empty()) out = train::RunDir::create("runs", "boundary", "eval").path();
  tasks::boundary::write_eval_files(s, out.string());
  const fs::path pred_dir = fs::path(o.pred).lexically_normal();
  const std::string name = (pred_dir.filename().empty() ? pred_dir.parent_path() : pred_dir).filename().string();
  PrCurve pr{fmt::format("{}: ODS {:.3f}  OIS {:.3f}  AP {:.3f}", name, s.ods.f, s.ois.f, s.ap),
             {},
             {},
             s.ods.recall,
             s.ods.precision};
  for (const auto& p : s.per_threshold) {
    pr.recall.push_back(p.recall);
    pr.precision.push_back(p.precision);
  }
  plot_precision_recall({pr}, (out / "pr_curve.png").string());

  if (o.progress != train::ProgressMode::kQuiet) {
    fmt::print(stderr, "{} images, {} thresholds, maximum distance {} of the diagonal{}:\n", ids.size(),
               s.per_threshold.size(), o.max_dist, o.thin ? "" : ", no thinning");
    fmt::print(stderr, "  ODS  F {:.4f}  (R {:.4f}, P {:.4f} at threshold {:.3f})\n", s.ods.f, s.ods.recall,
               s.ods.precision, s.ods.threshold);
    fmt::print(stderr, "  OIS  F {:.4f}  (R {:.4f}, P {:.4f})\n", s.ois.f, s.ois.recall, s.ois.precision);
    fmt::print(stderr, "  AP     {:.4f}\n", s.ap);
    fmt::print(stderr, "results in {} (eval_bdry.txt, eval_bdry_thr.txt, eval_bdry_img.txt, pr_curve.png)\n",
               out.string());
  }
  if (o.json) {
    fmt::print("{}\n",
               nlohmann::json{{"images", ids.size()},
                              {"thresholds", s.per_threshold.size()},
                              {"ods",
                               {{"f", s.ods.f},
                                {"recall", s.ods.recall},
                                {"precision", s.ods.precision},
                                {"threshold", s.ods.threshold}}},
                              {"ois", {{"f", s.ois.f}, {"recall", s.ois.recall}, {"precision", s.ois.precision}}},
                              {"ap", s.ap},
                              {"out", out.string()}}
                   .dump(2));
  }
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace lidere::cli
