// lidere eval: scores a trained readout on a dataset split (mIoU, per-class IoU, pixel accuracy,
// confusion matrix as CSV and PNG); with --task boundary, scores a folder of boundary predictions
// against BSDS ground truth (apps/lidere/eval_boundary.cpp).
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "apps/lidere/eval_boundary.h"
#include "apps/lidere/pipeline.h"
#include "apps/lidere/reports.h"
#include "core/errors.h"
#include "core/image_io.h"
#include "datasets/boundary_dataset.h"
#include "datasets/dataset_config.h"
#include "datasets/segmentation_loader.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/registry.h"
#include "train/run_dir.h"

namespace lidere::cli {
namespace {

struct EvalOptions {
  std::string task = "seg", weights, data, split = "val", out, device = "cpu", backbone;
  std::int64_t batch = 8, workers = 2, ignore_index = -1;
  bool quiet = false, json = false;
  BoundaryEvalOptions boundary;
  std::int64_t tile = 200, overlap = -1;  // boundary checkpoints: tiled inference as lidere predict
};

// The --json summary of a checkpoint's evaluation, whichever the task.
void print_json(const TrainedModel& model, const EvalOptions& o, std::size_t images, const tasks::Metrics& metrics,
                const nlohmann::json& details, const std::filesystem::path& out) {
  fmt::print("{}\n", nlohmann::json{{"weights", model.path},
                                    {"data", o.data},
                                    {"split", o.split},
                                    {"images", images},
                                    {"metrics", metrics.to_json()},
                                    {"details", details},
                                    {"out", out.string()}}
                         .dump(2));
}

// A boundary checkpoint on a split of a boundary dataset: the images predicted as `lidere
// predict` does (tiled by default, post-processed, 8-bit levels), scored by the BSDS benchmark.
int evaluate_boundary_model(TrainedModel& model, const EvalOptions& o) {
  const auto dataset = datasets::open_boundary_dataset(o.data, o.split);
  datasets::validate_boundary_samples(dataset.samples, dataset.description);
  const tasks::boundary::TileSettings tiles = tasks::boundary::tile_settings(o.tile, o.overlap);
  tasks::BoundarySpec spec;
  spec.thresholds = o.boundary.thresholds;
  spec.max_dist = o.boundary.max_dist;
  spec.nms_tolerance = model.checkpoint.meta.at("task").value("nms_tolerance", spec.nms_tolerance);
  tasks::BoundaryEvaluator evaluator(spec);
  const auto features = feature_function(*model.backbone, model.rows, model.cols);
  train::Progress progress("predict", static_cast<std::int64_t>(dataset.samples.size()), progress_mode(o.quiet), 0,
                           "img");
  for (std::size_t i = 0; i < dataset.samples.size(); ++i) {
    const auto& sample = dataset.samples[i];
    const torch::Tensor p =
        predict_boundary_probabilities(model, features, read_image_rgb(sample.image), tiles, o.batch);
    evaluator.add_map(tasks::benchmark_levels(p, spec.nms_tolerance),
                      datasets::annotator_boundaries(sample.ground_truth));
    progress.update(static_cast<std::int64_t>(i + 1));
  }
  progress.finish();
  std::filesystem::path out = o.out;
  if (out.empty()) out = train::RunDir::create("runs", "boundary", "eval").path();
  std::filesystem::create_directories(out);
  const tasks::Metrics metrics = evaluator.metrics();  // scores on all cores
  tasks::boundary::write_eval_files(evaluator.summary(), out.string());
  const nlohmann::json details = evaluator.details();
  write_evaluation_report(metrics, details, out, o.split);
  if (!o.quiet) {
    fmt::print(stderr, "{} on {} ({} images, split {}, {}):\n", model.path, o.data, dataset.samples.size(), o.split,
               tiles.size > 0 ? fmt::format("{} px tiles, {} px overlap", tiles.size, tiles.overlap) : "whole images");
    for (const auto& [name, value] : metrics.values) fmt::print(stderr, "  {:<14} {:.4f}\n", name, value);
    fmt::print(stderr, "results in {} (eval_bdry*.txt, eval_{}.json, pr_curve_{}.png)\n", out.string(), o.split,
               o.split);
  }
  if (o.json) print_json(model, o, dataset.samples.size(), metrics, details, out);
  return static_cast<int>(ExitCode::kOk);
}

int run(EvalOptions& o) {
  if (o.task != "seg" && o.task != "boundary") throw UsageError(fmt::format("--task {}: use seg or boundary", o.task));
  if (o.task == "boundary" && o.weights.empty()) {
    o.boundary.out = o.out;
    o.boundary.json = o.json;
    o.boundary.progress = progress_mode(o.quiet);
    return run_boundary_eval(o.boundary);
  }
  if (o.weights.empty() || o.data.empty()) {
    throw UsageError("eval needs --weights and --data (or --task boundary --pred DIR --gt DIR)");
  }
  TrainedModel model = load_trained_model(o.weights, o.device, o.backbone);
  if (model.task->name() == "boundary") return evaluate_boundary_model(model, o);
  if (o.task == "boundary") throw InputError(fmt::format("{}: this checkpoint was trained for task 'seg'", model.path));
  const nlohmann::json stored = model.checkpoint.meta.at("task");
  const std::int64_t ignore = o.ignore_index >= 0 ? o.ignore_index : stored.value("ignore_index", std::int64_t{255});
  auto dataset = datasets::open_segmentation_dataset(o.data, o.split, ignore);
  tasks::check_task_matches(stored, {{"task", "seg"}, {"class_names", dataset.labels.class_names}}, model.path);
  datasets::validate_samples(dataset.samples, dataset.labels, dataset.description);
  const auto task =
      tasks::make_task({{"task", "seg"}, {"class_names", dataset.labels.class_names}, {"ignore_index", ignore}});

  datasets::LoaderSettings settings;
  settings.rows = model.rows;
  settings.cols = model.cols;
  settings.batch = o.batch;
  const datasets::SegmentationLoader loader(dataset.samples, settings);
  const train::BatchSource source{loader.evaluation_batches(), loader.images(),
                                  [&](std::int64_t i) { return loader.evaluation_batch(i); }};
  const auto evaluator =
      train::evaluate(*model.readout, *task, feature_function(*model.backbone, model.rows, model.cols), source,
                      model.device, progress_mode(o.quiet), static_cast<int>(o.workers));

  std::filesystem::path out = o.out;
  if (out.empty()) out = train::RunDir::create("runs", "seg", "eval").path();
  std::filesystem::create_directories(out);
  const tasks::Metrics metrics = evaluator->metrics();
  const nlohmann::json details = evaluator->details();
  write_evaluation_report(metrics, details, out, o.split);
  if (!o.quiet) {
    fmt::print(stderr, "{} on {} ({} images, split {}):\n", model.path, o.data, dataset.samples.size(), o.split);
    for (const auto& [name, value] : metrics.values) fmt::print(stderr, "  {:<20} {:.4f}\n", name, value);
    fmt::print(stderr, "  per-class IoU:\n");
    const auto names = details.at("class_names").get<std::vector<std::string>>();
    for (std::size_t k = 0; k < names.size(); ++k) {
      const auto& v = details.at("iou").at(k);
      fmt::print(stderr, "    {:<18} {}\n", names[k],
                 v.is_null() ? std::string("-   (absent)") : fmt::format("{:.4f}", v.get<double>()));
    }
    fmt::print(stderr, "results in {} (eval_{}.json, confusion_{}.csv/.png)\n", out.string(), o.split, o.split);
  }
  if (o.json) print_json(model, o, dataset.samples.size(), metrics, details, out);
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

CommandAction add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Evaluate a trained readout on a dataset split, or score boundary predictions (--task boundary)");
  cmd->add_option("--task", o->task,
                  "seg (default) or boundary: with --pred and --gt, scores any detector's maps; a trained readout's "
                  "task comes from its checkpoint");
  cmd->add_option("--weights", o->weights, "Checkpoint (.safetensors) or run folder (uses weights/best)");
  cmd->add_option("--data", o->data, "Dataset folder or dataset config .json");
  cmd->add_option("--pred", o->boundary.pred,
                  "boundary: folder of predictions, <id>.png (soft or hard map) or <id>.mat (ucm2 or segs)");
  cmd->add_option("--gt", o->boundary.gt, "boundary: folder of BSDS ground truth <id>.mat");
  cmd->add_option("--thresholds", o->boundary.thresholds, "boundary: thresholds of the PR curve (default 99)");
  cmd->add_option("--max-dist", o->boundary.max_dist, "boundary: match distance, fraction of the diagonal (0.0075)");
  cmd->add_flag(
      "--no-thin", [o](std::int64_t) { o->boundary.thin = false; }, "boundary: do not thin the thresholded maps");
  cmd->add_option("--threads", o->boundary.workers, "boundary: images scored at once (default: one per core)");
  cmd->add_option("--tile", o->tile, "boundary checkpoint: tile size in pixels (default 200); 0: whole images");
  cmd->add_option("--overlap", o->overlap, "boundary checkpoint: tile overlap (default a fifth of the tile)");
  cmd->add_option("--split", o->split, "Split to evaluate (default val)");
  cmd->add_option("--out", o->out, "Folder for the reports (default runs/<task>/evalN)");
  cmd->add_option("--device", o->device, "cpu (default), cuda or cuda:N");
  cmd->add_option("--backbone", o->backbone,
                  "Backbone weights if they moved since training (must be the same weights)");
  cmd->add_option("--batch", o->batch, "Images per batch (default 8)");
  cmd->add_option("--workers", o->workers, "Batches decoded ahead on worker threads (default 2)");
  cmd->add_option("--ignore-index", o->ignore_index, "Label value to leave out (default: the checkpoint's)");
  cmd->add_flag("--quiet,-q", o->quiet, "Only errors (and --json)");
  cmd->add_flag("--json", o->json, "Print a JSON summary on stdout");
  return [o] { return run(*o); };
}

}  // namespace lidere::cli
