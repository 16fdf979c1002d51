// lidere train: trains a readout on a dataset into a run folder (runs/<task>/<name>N), or
// continues one with --resume.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "apps/lidere/pipeline.h"
#include "apps/lidere/reports.h"
#include "backbones/feature_cache.h"
#include "backbones/registry.h"
#include "core/errors.h"
#include "datasets/boundary_dataset.h"
#include "datasets/dataset_config.h"
#include "datasets/segmentation_loader.h"
#include "ops/interp_attention.h"
#include "tasks/registry.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace lidere::cli {
namespace {

namespace fs = std::filesystem;

struct TrainOptions {
  std::string config_file, resume;
  std::vector<std::string> sets;
  // Shortcuts for the most used settings (each the same as --set key=value).
  std::string task, data, backbone, readout, imgsz, device, name, project;
  std::int64_t batch = 0, iterations = 0, epochs = 0;
  bool quiet = false, json = false, exist_ok = false;
};

train::TrainConfig resolve_config(const TrainOptions& o) {
  train::TrainConfig config;
  if (!o.config_file.empty()) {
    std::ifstream in(o.config_file);
    if (!in) throw InputError(fmt::format("{}: cannot open the configuration", o.config_file));
    try {
      config = train::config_from_json(nlohmann::json::parse(in));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}: not valid JSON: {}", o.config_file, e.what()));
    }
  }
  std::vector<std::string> sets;
  const auto shortcut = [&](const char* key, const std::string& value) {
    if (!value.empty()) sets.push_back(fmt::format("{}={}", key, value));
  };
  shortcut("task", o.task);
  shortcut("data", o.data);
  shortcut("backbone", o.backbone);
  shortcut("readout", o.readout);
  shortcut("imgsz", o.imgsz);
  shortcut("device", o.device);
  shortcut("name", o.name);
  shortcut("project", o.project);
  if (o.batch > 0) shortcut("batch", std::to_string(o.batch));
  if (o.iterations > 0) shortcut("iterations", std::to_string(o.iterations));
  if (o.epochs > 0) shortcut("epochs", std::to_string(o.epochs));
  sets.insert(sets.end(), o.sets.begin(), o.sets.end());
  train::apply_overrides(config, sets);
  return config;
}

fs::path run_folder_of(const std::string& resume) {
  fs::path path(resume);
  if (fs::is_regular_file(path)) path = path.parent_path().parent_path();  // <run>/weights/last.safetensors
  return path;
}

// A run's data and task, whichever the task: the training and validation loaders, checked file
// by file before any work, and what the log says about them.
struct RunData {
  std::unique_ptr<tasks::Task> task;
  std::unique_ptr<datasets::SampleLoader> train, val;
  std::string description;
};

RunData open_run_data(const train::TrainConfig& config, datasets::LoaderSettings settings) {
  RunData data;
  if (config.task == "boundary") {
    auto train_set = datasets::open_boundary_dataset(config.data, config.train_split);
    auto val_set = datasets::open_boundary_dataset(config.data, config.val_split);
    const std::int64_t side = datasets::validate_boundary_samples(train_set.samples, train_set.description);
    datasets::validate_boundary_samples(val_set.samples, val_set.description);
    // Targets at no less than the images' own resolution, so no annotated pixel is dropped.
    settings.target_rows = std::max(settings.rows, side);
    settings.target_cols = std::max(settings.cols, side);
    data.description =
        fmt::format("{}: {} train / {} val images, soft targets (mean of the annotators) at {}x{}", config.data,
                    train_set.samples.size(), val_set.samples.size(), settings.target_rows, settings.target_cols);
    data.task =
        tasks::make_task({{"task", "boundary"}, {"balanced", config.balanced}, {"thresholds", config.val_thresholds}});
    data.train = std::make_unique<datasets::BoundaryLoader>(std::move(train_set.samples), settings);
    data.val = std::make_unique<datasets::BoundaryLoader>(std::move(val_set.samples), settings);
    return data;
  }
  auto open_split = [&](const std::string& split) {
    auto dataset = datasets::open_segmentation_dataset(config.data, split, config.ignore_index);
    datasets::validate_samples(dataset.samples, dataset.labels, dataset.description);
    return dataset;
  };
  auto train_set = open_split(config.train_split);
  auto val_set = open_split(config.val_split);
  data.description =
      fmt::format("{}: {} train / {} val images, {} classes, ignore index {}", config.data, train_set.samples.size(),
                  val_set.samples.size(), train_set.labels.classes(), train_set.labels.ignore_index);
  data.task = tasks::make_task({{"task", "seg"},
                                {"class_names", train_set.labels.class_names},
                                {"ignore_index", train_set.labels.ignore_index}});
  settings.augment.ignore_index = train_set.labels.ignore_index;
  data.train = std::make_unique<datasets::SegmentationLoader>(std::move(train_set.samples), settings);
  data.val = std::make_unique<datasets::SegmentationLoader>(std::move(val_set.samples), settings);
  return data;
}

int run(const TrainOptions& o) {
  const bool resuming = !o.resume.empty();
  std::unique_ptr<train::RunDir> run;
  train::TrainConfig config;
  if (resuming) {
    run = std::make_unique<train::RunDir>(train::RunDir::open(run_folder_of(o.resume)));
    std::ifstream in(run->file("config.json"));
    try {
      config = train::config_from_json(nlohmann::json::parse(in));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}: not valid JSON: {}", run->file("config.json").string(), e.what()));
    }
    if (!o.data.empty() || !o.backbone.empty() || !o.readout.empty() || !o.imgsz.empty() || !o.task.empty() ||
        !o.config_file.empty() || o.batch > 0) {
      throw UsageError("--resume continues a run as it was configured; change its length or other settings with --set");
    }
    std::vector<std::string> sets = o.sets;
    if (o.iterations > 0) sets.push_back(fmt::format("iterations={}", o.iterations));
    if (!o.device.empty()) sets.push_back("device=" + o.device);
    train::apply_overrides(config, sets);
  } else {
    config = resolve_config(o);
  }
  config.validate();
  if (config.data.empty())
    throw UsageError("--data is required: a dataset folder or a dataset config (docs/datasets.md)");
  const torch::Device device = train::parse_device(config.device);
  const train::ProgressMode progress = progress_mode(o.quiet);
  const auto say = [&](const std::string& line) {
    if (!o.quiet) fmt::print(stderr, "{}\n", line);
    if (run) run->log(line);
  };

  // Data first: a bad file should stop the run before any work.
  datasets::LoaderSettings loader_settings;
  loader_settings.rows = config.rows();
  loader_settings.cols = config.cols();
  loader_settings.batch = config.batch;
  loader_settings.seed = config.seed;
  loader_settings.augment = {config.augment, config.up_factor, config.p_blur, 255};
  const RunData data = open_run_data(config, loader_settings);
  const auto& task = data.task;
  if (config.epochs > 0) {
    config.iterations = (config.epochs * data.train->images() + config.batch - 1) / config.batch;
    config.epochs = 0;  // resolved: the run folder records the iterations
  }

  std::unique_ptr<backbones::Backbone> backbone = backbones::open_backbone(config.backbone, config.layers);
  const std::string backbone_description = backbone->describe();
  const std::string fingerprint = backbones::backbone_fingerprint(*backbone);
  const auto readout_config =
      readout_config_for(*backbone, config.rows(), config.cols(), config.dim, config.heads, *task);
  const bool cache =
      config.cache == "on" || (config.cache == "auto" && datasets::augmentation_is_cacheable(config.augment));
  if (cache) {
    const std::string dir =
        config.cache_dir.empty() ? (fs::path(config.project) / ".cache" / "features").string() : config.cache_dir;
    backbone = std::make_unique<backbones::CachedBackbone>(std::move(backbone), dir);
  }
  backbone->to(device);

  torch::manual_seed(config.seed);
  readout::ReadoutHead readout(readout::parse_readout_kind(config.readout), readout_config);
  std::unique_ptr<train::Checkpoint> resume_from;
  if (resuming) {
    resume_from = std::make_unique<train::Checkpoint>(train::load_checkpoint(run->weights("last").string()));
    tasks::check_task_matches(resume_from->meta.at("task"), task->describe(), run->weights("last").string());
    readout = train::readout_from_checkpoint(*resume_from, run->weights("last").string());
  } else {
    run = std::make_unique<train::RunDir>(train::RunDir::create(config.project, config.task, config.name, o.exist_ok));
  }
  readout.set_interp_backend(ops::parse_interp_backend(config.interp));
  readout.to(device);
  {
    std::ofstream out(run->file("config.json"));
    out << train::to_json(config).dump(2) << '\n';
  }

  std::int64_t parameters = 0;
  for (const auto& p : readout.module().parameters()) parameters += p.numel();
  say(fmt::format("run:       {}", run->path().string()));
  say(fmt::format("data:      {}", data.description));
  say(fmt::format("backbone:  {} at {}x{} -> {} channels on {}{}", backbone_description, config.rows(), config.cols(),
                  readout_config.feature_channels, readout_config.feature_grid.str(),
                  cache ? " (feature cache on)" : ""));
  say(fmt::format("readout:   {} with {} trainable parameters, output {}x{}", config.readout, parameters,
                  readout_config.base_grid.rows * readout_config.upsample_factor(),
                  readout_config.base_grid.cols * readout_config.upsample_factor()));
  say(fmt::format("training:  {} iterations of batch {}, lr {} ({} schedule, {} warm-up), augment {}, device {}",
                  config.iterations, config.batch, config.lr, config.schedule, config.warmup, config.augment,
                  config.device));

  const datasets::SampleLoader &train_loader = *data.train, &val_loader = *data.val;
  train::BatchSource train_source{-1, train_loader.images(),
                                  [&](std::int64_t step) { return train_loader.training_batch(step); }};
  train::BatchSource val_source{val_loader.evaluation_batches(config.val_images), val_loader.images(),
                                [&](std::int64_t i) { return val_loader.evaluation_batch(i, config.val_images); }};

  nlohmann::json meta = {{"task", task->describe()},
                         {"readout", config.readout},
                         {"readout_config", readout::readout_config_to_json(readout_config)},
                         {"backbone",
                          {{"spec", config.backbone},
                           {"layers", config.layers},
                           {"description", backbone_description},
                           {"fingerprint", fingerprint}}},
                         {"imgsz", config.imgsz},
                         {"config", train::to_json(config)}};
  train::Trainer trainer(config, readout, *task, feature_function(*backbone, config.rows(), config.cols()), *run, meta,
                         progress);
  const train::TrainSummary summary =
      trainer.run(train_source, val_source, resume_from.get(), [&] { draw_training_curves(*run); });
  if (summary.interrupted) return static_cast<int>(ExitCode::kOk);

  // The best checkpoint's validation (per-class IoU, confusion matrix), as the trainer stored it.
  const nlohmann::json best_details =
      train::load_checkpoint(run->weights("best").string()).meta.value("details", nlohmann::json::object());
  write_evaluation_report(summary.best_metrics, best_details, run->path(), "val");

  say(fmt::format("best {} {:.4f} at iteration {}; results in {}", summary.best_metrics.main_name(),
                  summary.best_metrics.main(), summary.best_step, run->path().string()));
  say(fmt::format("  predict: lidere predict --weights {} IMAGES...", run->path().string()));
  if (o.json) {
    nlohmann::json out = {
        {"run", run->path().string()},
        {"iterations", summary.iterations},
        {"seconds", summary.seconds},
        {"best_iteration", summary.best_step},
        {"best", summary.best_metrics.to_json()},
        {"final", summary.final_metrics.to_json()},
        {"details", best_details},
        {"weights", {{"best", run->weights("best").string()}, {"last", run->weights("last").string()}}}};
    fmt::print("{}\n", out.dump(2));
  }
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

CommandAction add_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a readout on a dataset; results go to runs/<task>/<name>N");
  cmd->add_option("--data", o->data, "Dataset folder or dataset config .json (docs/datasets.md)");
  cmd->add_option("--task", o->task, "Task: seg (default) or boundary (BSDS500 layout)");
  cmd->add_option("--backbone", o->backbone, backbones::kBackboneHelp);
  cmd->add_option("--readout", o->readout, "lidere (default) or linear (the linear-probe baseline)");
  cmd->add_option("--imgsz", o->imgsz, "Model input size: 256 or ROWSxCOLS, e.g. 288x384 (default 256)");
  cmd->add_option("--batch", o->batch, "Images per iteration (default 8)");
  cmd->add_option("--iterations", o->iterations, "Training iterations (default 1000)");
  cmd->add_option("--epochs", o->epochs, "Train for this many passes over the data instead of --iterations");
  cmd->add_option("--device", o->device, "cpu (default), cuda or cuda:N");
  cmd->add_option("--name", o->name, "Run name: runs/<task>/<name>, <name>2, ... (default train)");
  cmd->add_option("--project", o->project, "Folder that holds the runs (default runs)");
  cmd->add_option("--config", o->config_file, "Start from a configuration .json (e.g. a run's config.json)");
  cmd->add_option("--set", o->sets, "Override any setting: --set key=value (repeatable; see docs/cli.md)");
  cmd->add_option("--resume", o->resume, "Continue the run in this folder (or its weights/last.safetensors)");
  cmd->add_flag("--exist-ok", o->exist_ok, "Reuse runs/<task>/<name> instead of numbering a new folder");
  cmd->add_flag("--quiet,-q", o->quiet, "No progress output");
  cmd->add_flag("--json", o->json, "Print a JSON summary on stdout at the end");
  return [o] { return run(*o); };
}

}  // namespace lidere::cli
