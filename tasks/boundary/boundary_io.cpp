#include "tasks/boundary/boundary_io.h"

#include <algorithm>
#include <filesystem>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "core/errors.h"
#include "core/image_io.h"
#include "core/parallel.h"
#include "core/plot.h"
#include "datasets/boundary_dataset.h"
#include "datasets/bsds.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/boundary/bsds_benchmark.h"
#include "tasks/boundary/postprocess.h"

namespace lidere::tasks {
namespace {

namespace fs = std::filesystem;
using boundary::BinaryMap;

class BoundaryWriter : public PredictWriter {
 public:
  BoundaryWriter(BoundarySpec spec, fs::path out, PredictSettings settings)
      : spec_(spec), out_(std::move(out)), settings_(settings) {}

  nlohmann::json write(const ImageInput& input, const torch::Tensor& image, const Outputs& results) override {
    const torch::Tensor p = results.at("probabilities")[0];
    const std::vector<float> map = postprocess_boundaries(p, spec_.nms_tolerance);
    const auto rows = p.size(0), cols = p.size(1);
    torch::Tensor levels;
    if (spec_.bits == 8) {
      const auto bytes = boundary::to_8bit(map);
      levels = torch::from_blob(const_cast<std::uint8_t*>(bytes.data()), {rows, cols}, torch::kUInt8).clone();
    } else {
      const auto words = boundary::to_16bit(map);
      levels = torch::tensor(std::vector<std::int32_t>(words.begin(), words.end()), torch::kInt32).reshape({rows, cols});
    }
    const fs::path map_file = out_ / "boundaries" / (input.output_stem + ".png");
    fs::create_directories(map_file.parent_path());
    write_gray_png(map_file.string(), levels, spec_.bits);
    nlohmann::json entry = {{"image", input.file.string()}, {"boundaries", map_file.string()}};
    if (settings_.overlay) {
      // The photo in grey, boundaries in red by strength.
      const fs::path overlay_file = out_ / "overlays" / (input.output_stem + ".jpg");
      fs::create_directories(overlay_file.parent_path());
      const torch::Tensor strength =
          torch::from_blob(const_cast<float*>(map.data()), {1, rows, cols}, torch::kFloat).clone().clamp(0, 1);
      const torch::Tensor grey = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).unsqueeze(0) * 0.7 + 0.15;
      const torch::Tensor red = torch::tensor({1.0f, 0.1f, 0.1f}).view({3, 1, 1});
      write_image_rgb(overlay_file.string(), grey.expand({3, rows, cols}) * (1 - strength) + red * strength);
      entry["overlay"] = overlay_file.string();
    }
    if (settings_.probabilities) {
      const fs::path prob_file = out_ / "probabilities" / (input.output_stem + ".safetensors");
      write_probabilities(prob_file, p.unsqueeze(0), {"boundary"}, input.file);
      entry["probabilities"] = prob_file.string();
    }
    return entry;
  }

  std::string summary(std::size_t images) const override {
    const Tiling t = make_tiling(spec_.tile, spec_.overlap);
    return fmt::format("{} boundary maps ({}-bit, {}) in {}", images, spec_.bits,
                       t.size > 0 ? fmt::format("{} px tiles, {} px overlap", t.size, t.overlap) : "whole images",
                       (out_ / "boundaries").string());
  }

 private:
  BoundarySpec spec_;
  fs::path out_;
  PredictSettings settings_;
};

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

boundary::ImageCounts score_image(const fs::path& prediction, const std::string& gt_path, const BoundarySpec& s) {
  const std::vector<BinaryMap> truth = ground_truth_maps(gt_path);
  const std::vector<double> thresholds = boundary::default_thresholds(s.thresholds);
  if (prediction.extension() == ".mat") {
    // An ultrametric contour map if the file has one (the benchmark's preference), else segs.
    if (datasets::mat_has_variable(prediction.string(), "ucm2")) {
      const torch::Tensor ucm = datasets::read_ucm2(prediction.string());
      check_size(prediction, ucm.size(0), ucm.size(1), truth.front(), gt_path);
      const std::vector<double> pb(ucm.data_ptr<double>(), ucm.data_ptr<double>() + ucm.numel());
      return boundary::evaluate_image(pb, truth.front().rows, truth.front().cols, truth, thresholds, s.max_dist, s.thin);
    }
    std::vector<BinaryMap> maps;
    for (const auto& seg : datasets::read_segs(prediction.string())) {
      check_size(prediction, seg.size(0), seg.size(1), truth.front(), gt_path);
      const std::vector<std::int64_t> labels(seg.data_ptr<std::int64_t>(), seg.data_ptr<std::int64_t>() + seg.numel());
      maps.push_back(
          boundary::segmentation_boundaries(labels, static_cast<int>(seg.size(0)), static_cast<int>(seg.size(1))));
    }
    return boundary::evaluate_image_maps(maps, truth, s.max_dist, s.thin);
  }
  // The original reads double(imread(file)) / 255 (8-bit maps, exactly); 16-bit maps keep their
  // finer levels (/ 65535).
  const torch::Tensor levels = read_gray_levels(prediction.string()).contiguous();
  check_size(prediction, levels.size(0), levels.size(1), truth.front(), gt_path);
  const std::vector<double> pb(levels.data_ptr<double>(), levels.data_ptr<double>() + levels.numel());
  return boundary::evaluate_image(pb, truth.front().rows, truth.front().cols, truth, thresholds, s.max_dist, s.thin);
}

void plot_pr(const std::string& label, const boundary::PrPoint& ods, const std::vector<boundary::PrPoint>& curve,
             const fs::path& file) {
  PrCurve pr{label, {}, {}, ods.recall, ods.precision};
  for (const auto& p : curve) {
    pr.recall.push_back(p.recall);
    pr.precision.push_back(p.precision);
  }
  plot_precision_recall({pr}, file.string());
}

class BoundaryIo : public TaskIo {
 public:
  SplitData open_split(const std::string& data, const std::string& split, const nlohmann::json&) const override {
    auto dataset = datasets::open_boundary_dataset(data, split);
    SplitData out;
    out.description = fmt::format("{}, annotators' maps averaged into soft targets", dataset.description);
    out.task_fields = {{"class_names", {"boundary"}}};
    out.check = [dataset] {
      // Targets are kept at no less than the images' own resolution, so no annotated pixel is lost.
      return nlohmann::json{{"target_side", datasets::validate_boundary_samples(dataset.samples, dataset.description)}};
    };
    out.samples = datasets::boundary_source(dataset.samples);
    return out;
  }

  std::unique_ptr<PredictWriter> predict_writer(const Task& task, const fs::path& out,
                                                const PredictSettings& settings) const override {
    return std::make_unique<BoundaryWriter>(dynamic_cast<const BoundaryTask&>(task).spec(), out, settings);
  }

  std::vector<std::string> write_report(const Metrics& metrics, const nlohmann::json& details, const fs::path& dir,
                                        const std::string& split) const override {
    std::vector<boundary::PrPoint> curve;
    for (const auto& p : details.at("per_threshold")) {
      curve.push_back({0, p.at("recall").get<double>(), p.at("precision").get<double>(), 0});
    }
    const boundary::PrPoint ods{0, details.at("ods").at("recall").get<double>(),
                                details.at("ods").at("precision").get<double>(), 0};
    const std::string name = fmt::format("pr_curve_{}.png", split);
    plot_pr(fmt::format("ODS {:.3f}  OIS {:.3f}  AP {:.3f}", metrics.at("ODS"), metrics.at("OIS"), metrics.at("AP")),
            ods, curve, dir / name);
    return {name};
  }

  ScoreReport score_predictions(const ScoreRequest& r) const override {
    const auto task = make_boundary_task(task_description_of(r.options));
    const BoundarySpec& s = dynamic_cast<const BoundaryTask&>(*task).spec();
    for (const auto& [dir, what] : {std::pair{r.pred, "--pred"}, std::pair{r.gt, "--gt"}}) {
      if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: not a folder ({})", dir, what));
    }
    std::vector<std::string> ids;
    for (const auto& e : fs::directory_iterator(r.gt)) {
      if (e.is_regular_file() && e.path().extension() == ".mat") ids.push_back(e.path().stem().string());
    }
    std::sort(ids.begin(), ids.end());
    if (ids.empty()) throw InputError(fmt::format("{}: no ground-truth .mat files", r.gt));
    std::vector<fs::path> predictions;
    for (const auto& id : ids) predictions.push_back(find_prediction(r.pred, id));  // all missing files up front

    // Images are the unit of parallel work; LibTorch's own threads (the few tensor conversions of
    // reading) would only spin against the workers.
    at::set_num_threads(1);
    std::vector<boundary::ImageCounts> counts(ids.size());
    Progress progress("boundary", static_cast<std::int64_t>(ids.size()), r.progress, 0, "img");
    parallel_for(
        ids.size(), r.threads,
        [&](std::size_t i) { counts[i] = score_image(predictions[i], (fs::path(r.gt) / (ids[i] + ".mat")).string(), s); },
        [&](std::size_t finished) { progress.update(static_cast<std::int64_t>(finished)); });
    progress.finish();

    const boundary::BenchmarkSummary sum = boundary::collect(counts);
    const fs::path out = r.out;
    fs::create_directories(out);
    boundary::write_eval_files(sum, out.string());
    const fs::path pred_dir = fs::path(r.pred).lexically_normal();
    const std::string name = (pred_dir.filename().empty() ? pred_dir.parent_path() : pred_dir).filename().string();
    plot_pr(fmt::format("{}: ODS {:.3f}  OIS {:.3f}  AP {:.3f}", name, sum.ods.f, sum.ois.f, sum.ap), sum.ods,
            sum.per_threshold, out / "pr_curve.png");

    ScoreReport report;
    report.lines = {
        fmt::format("{} images, {} thresholds, maximum distance {} of the diagonal{}:", ids.size(),
                    sum.per_threshold.size(), s.max_dist, s.thin ? "" : ", no thinning"),
        fmt::format("  ODS  F {:.4f}  (R {:.4f}, P {:.4f} at threshold {:.3f})", sum.ods.f, sum.ods.recall,
                    sum.ods.precision, sum.ods.threshold),
        fmt::format("  OIS  F {:.4f}  (R {:.4f}, P {:.4f})", sum.ois.f, sum.ois.recall, sum.ois.precision),
        fmt::format("  AP     {:.4f}", sum.ap),
        fmt::format("results in {} (eval_bdry.txt, eval_bdry_thr.txt, eval_bdry_img.txt, pr_curve.png)", out.string())};
    report.json = {{"images", ids.size()},
                   {"thresholds", sum.per_threshold.size()},
                   {"ods",
                    {{"f", sum.ods.f},
                     {"recall", sum.ods.recall},
                     {"precision", sum.ods.precision},
                     {"threshold", sum.ods.threshold}}},
                   {"ois", {{"f", sum.ois.f}, {"recall", sum.ois.recall}, {"precision", sum.ois.precision}}},
                   {"ap", sum.ap},
                   {"out", out.string()}};
    return report;
  }

 private:
  static nlohmann::json task_description_of(const nlohmann::json& options) {
    nlohmann::json d = options;
    d["task"] = "boundary";
    return d;
  }
};

}  // namespace

std::unique_ptr<TaskIo> make_boundary_io() { return std::make_unique<BoundaryIo>(); }

}  // namespace lidere::tasks
