// lidere train: trains a readout for a task on a dataset into a run folder
// (runs/<task>/<name>N), or continues one with --resume. Everything task-specific comes from the
// task plugin (tasks/registry.h): its data, targets, loss, metrics, options and report.
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "apps/lidere/reports.h"
#include "backbones/registry.h"
#include "core/errors.h"
#include "data/loader.h"
#include "inference/model.h"
#include "inference/options.h"
#include "inference/prediction.h"
#include "inference/recommended.h"
#include "ops/interp_attention.h"
#include "tasks/registry.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace lidere::cli {
namespace {

namespace fs = std::filesystem;
using inference::Shared;

struct TrainOptions {
  std::string config_file, resume;
  inference::SharedOptions shared;
  inference::TaskFlags task_flags;
  // Shortcuts for the most used settings (each the same as --set key=value).
  std::string data, readout, imgsz, name, project;
  std::int64_t iterations = 0, epochs = 0;
  bool exist_ok = false;
};

// The names a task's options answer to (keys and aliases), for --set KEY=VALUE and old configs.
std::vector<std::string> task_keys(const std::string& task) {
  std::vector<std::string> keys;
  for (const auto& option : tasks::task_entry(task).options()) {
    keys.push_back(option.key);
    keys.insert(keys.end(), option.aliases.begin(), option.aliases.end());
  }
  return keys;
}

nlohmann::json read_config_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("{}: cannot open the configuration", file.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", file.string(), e.what()));
  }
}

train::TrainConfig config_of(const nlohmann::json& json) {
  const std::string task = json.is_object() ? json.value("task", std::string()) : std::string();
  return train::config_from_json(json, task_keys(task.empty() ? tasks::default_task() : task));
}

train::TrainConfig read_config(const fs::path& file) { return config_of(read_config_json(file)); }

// The recommended settings of the task and backbone the user chose (inference/recommended.h), for
// every setting that neither the configuration file nor the command line gives.
void apply_recommended(train::TrainConfig& config, const nlohmann::json& file, const std::vector<std::string>& sets) {
  train::TrainConfig chosen = config;
  std::vector<std::string> unclaimed;
  train::apply_overrides(chosen, sets, &unclaimed);
  std::set<std::string> given;
  if (file.is_object()) {
    for (const auto& item : file.items()) given.insert(item.key());
  }
  for (const auto& set : sets) given.insert(set.substr(0, set.find('=')));
  const nlohmann::json settings =
      inference::recommended_settings(chosen.task.empty() ? tasks::default_task() : chosen.task, chosen.backbone,
                                      chosen.lora_rank > 0);
  std::vector<std::string> recommended;
  for (const auto& [key, value] : settings.items()) {
    if (key == "task_options") {
      for (const auto& [option, option_value] : value.items()) {
        if (!config.task_options.contains(option)) config.task_options[option] = option_value;
      }
    } else if (!given.contains(key)) {
      recommended.push_back(fmt::format("{}={}", key, value.dump()));
    }
  }
  train::apply_overrides(config, recommended);
}

// Settings, then the task's options: --set of either kind and the task's flags, validated by the
// task and recorded in full (every default) so the run folder says how the task was configured.
void apply_command_line(train::TrainConfig& config, const TrainOptions& o, std::vector<std::string> sets) {
  std::vector<std::string> unclaimed;
  train::apply_overrides(config, sets, &unclaimed);
  if (config.task.empty()) config.task = tasks::default_task();
  std::vector<std::string> unknown;
  const nlohmann::json given = inference::task_options_from_command_line(o.task_flags, unclaimed, config.task, &unknown);
  if (!unknown.empty()) train::apply_overrides(config, unknown);  // names the settings there are
  nlohmann::json options = config.task_options;
  for (const auto& [key, value] : given.items()) options[key] = value;
  config.task_options = tasks::resolve_options(tasks::task_entry(config.task).options(), options, config.task);
}

train::TrainConfig resolve_config(const TrainOptions& o) {
  const nlohmann::json file = o.config_file.empty() ? nlohmann::json::object() : read_config_json(o.config_file);
  train::TrainConfig config = o.config_file.empty() ? train::TrainConfig{} : config_of(file);
  std::vector<std::string> sets;
  const auto shortcut = [&](const char* key, const std::string& value) {
    if (!value.empty()) sets.push_back(fmt::format("{}={}", key, value));
  };
  const auto& s = o.shared;
  shortcut("task", s.task);
  shortcut("data", o.data);
  shortcut("backbone", s.backbone);
  shortcut("readout", o.readout);
  shortcut("imgsz", o.imgsz);
  if (s.given(Shared::kDevice)) shortcut("device", s.device);
  shortcut("name", o.name);
  shortcut("project", o.project);
  if (s.given(Shared::kBatch)) shortcut("batch", std::to_string(s.batch));
  if (s.given(Shared::kWorkers)) shortcut("workers", std::to_string(s.workers));
  if (o.iterations > 0) shortcut("iterations", std::to_string(o.iterations));
  if (o.epochs > 0) shortcut("epochs", std::to_string(o.epochs));
  sets.insert(sets.end(), s.sets.begin(), s.sets.end());
  apply_recommended(config, file, sets);
  apply_command_line(config, o, sets);
  return config;
}

fs::path run_folder_of(const std::string& resume) {
  fs::path path(resume);
  if (fs::is_regular_file(path)) path = path.parent_path().parent_path();  // <run>/weights/last.safetensors
  return path;
}

int run(const TrainOptions& o) {
  const bool resuming = !o.resume.empty();
  std::unique_ptr<train::RunDir> run;
  train::TrainConfig config;
  if (resuming) {
    run = std::make_unique<train::RunDir>(train::RunDir::open(run_folder_of(o.resume)));
    config = read_config(run->file("config.json"));
    const auto& s = o.shared;
    if (!o.data.empty() || !s.backbone.empty() || !o.readout.empty() || !o.imgsz.empty() || !s.task.empty() ||
        !o.config_file.empty() || s.given(Shared::kBatch)) {
      throw UsageError("--resume continues a run as it was configured; change its length or other settings with --set");
    }
    std::vector<std::string> sets = s.sets;
    if (o.iterations > 0) sets.push_back(fmt::format("iterations={}", o.iterations));
    if (s.given(Shared::kDevice)) sets.push_back("device=" + s.device);
    apply_command_line(config, o, sets);
  } else {
    config = resolve_config(o);
  }
  config.validate();
  if (config.data.empty())
    throw UsageError("--data is required: a dataset folder or a dataset config (docs/datasets.md)");
  const torch::Device device = inference::parse_device(config.device);
  const auto say = [&](const std::string& line) {
    if (!o.shared.quiet) fmt::print(stderr, "{}\n", line);
    if (run) run->log(line);
  };

  // Data first: a bad file should stop the run before any work.
  const auto io = tasks::make_task_io(config.task);
  tasks::SplitData train_split = io->open_split(config.data, config.train_split, config.task_options);
  tasks::SplitData val_split = io->open_split(config.data, config.val_split, config.task_options);
  nlohmann::json fields = train_split.task_fields;
  const nlohmann::json learned = train_split.check();
  for (const auto& [key, value] : learned.items()) fields[key] = value;
  val_split.check();
  const auto task = tasks::make_task(tasks::task_description(config.task, config.task_options, fields));
  data::LoaderSettings loader_settings;
  loader_settings.rows = config.rows();
  loader_settings.cols = config.cols();
  loader_settings.batch = config.batch;
  loader_settings.seed = config.seed;
  loader_settings.augment = {config.augment, config.up_factor, config.p_blur, config.rotation};
  const data::SampleLoader train_loader(train_split.samples, loader_settings);
  if (config.epochs > 0) {
    config.iterations = (config.epochs * train_loader.images() + config.batch - 1) / config.batch;
    config.epochs = 0;  // resolved: the run folder records the iterations
  }

  std::unique_ptr<backbones::Backbone> backbone = backbones::open_backbone(config.backbone, config.layers);
  nlohmann::json adapters;  // none for a frozen backbone
  if (config.lora_rank > 0) {
    backbone->enable_lora(config.lora_rank, config.lora_alpha);  // a UsageError for a backbone without blocks
    adapters = {{"kind", "lora"}, {"rank", config.lora_rank}, {"alpha", config.lora_alpha}};
  }
  backbone->set_activation_checkpointing(config.activation_checkpointing);
  const std::string backbone_description =
      backbone->describe() + (config.lora_rank > 0 ? fmt::format(" + LoRA rank {} alpha {}", config.lora_rank,
                                                                 config.lora_alpha)
                                                   : "");
  const nlohmann::json backbone_record =
      inference::describe_backbone(*backbone, config.backbone, config.layers, adapters);
  const auto readout_config = inference::readout_config_for(*backbone, config.rows(), config.cols(), config.dim,
                                                            config.heads, config.base_grid);
  bool cached = false;
  const std::string cache_dir =
      config.cache_dir.empty() ? (fs::path(config.project) / ".cache" / "features").string() : config.cache_dir;
  backbone = inference::with_feature_cache(std::move(backbone), config.cache,
                                           data::augmentation_is_cacheable(loader_settings.augment), cache_dir, &cached);
  backbone->to(device);

  const readout::HeadLayout layout = task->heads();
  torch::manual_seed(config.seed);
  readout::ReadoutHead readout(readout::parse_readout_kind(config.readout), readout_config, layout);
  std::unique_ptr<inference::Checkpoint> resume_from;
  if (resuming) {
    const std::string last = run->weights("last").string();
    resume_from = std::make_unique<inference::Checkpoint>(inference::load_checkpoint(last));
    tasks::check_task_matches(resume_from->meta.at("task"), task->describe(), last);
    readout = inference::readout_from_checkpoint(*resume_from, last, &layout);
  } else {
    run = std::make_unique<train::RunDir>(train::RunDir::create(config.project, task->name(), config.name, o.exist_ok));
  }
  readout.set_interp_backend(ops::parse_interp_backend(config.interp));
  readout.to(device);
  {
    std::ofstream out(run->file("config.json"));
    out << train::to_json(config).dump(2) << '\n';
  }

  std::int64_t parameters = 0;
  for (const auto& p : readout.module().parameters()) parameters += p.numel();
  const auto& rc = readout.config();
  say(fmt::format("run:       {}", run->path().string()));
  say(fmt::format("data:      {}: {} train / {} val images, {}", config.data, train_split.samples.count,
                  val_split.samples.count, train_split.description));
  say(fmt::format("backbone:  {} at {}x{} -> {} channels on {}{}", backbone_description, config.rows(), config.cols(),
                  rc.feature_channels, rc.feature_grid.str(), cached ? " (feature cache on)" : ""));
  say(fmt::format("readout:   {} with {} trainable parameters, output {}x{}, heads {}", config.readout, parameters,
                  rc.base_grid.rows * rc.upsample_factor(), rc.base_grid.cols * rc.upsample_factor(),
                  layout.describe()));
  say(fmt::format("training:  {} iterations of batch {}, lr {} ({} schedule, {} warm-up), augment {}, device {}",
                  config.iterations, config.batch, config.lr, config.schedule, config.warmup, config.augment,
                  config.device));

  const train::BatchSource train_source{train_loader.images(),
                                        [&](std::int64_t step) { return train_loader.training_batch(step); }};
  const nlohmann::json meta =
      inference::describe_run(*task, readout, backbone_record, config.imgsz, train::to_json(config));
  train::Trainer trainer(config, readout, *task, inference::feature_function(*backbone, config.rows(), config.cols()),
                         *run, meta, o.shared.progress(), backbone->trainable_parameters());
  const train::TrainSummary summary =
      trainer.run(train_source, val_split.samples, resume_from.get(), [&] { draw_training_curves(*run); });
  if (summary.interrupted) return static_cast<int>(ExitCode::kOk);

  // The best checkpoint's validation (e.g. per-class IoU, confusion matrix), as the trainer stored it.
  const nlohmann::json best_details =
      inference::load_checkpoint(run->weights("best").string()).meta.value("details", nlohmann::json::object());
  inference::write_evaluation_json(summary.best_metrics, best_details, run->path(), "val");
  io->write_report(summary.best_metrics, best_details, run->path(), "val");

  say(fmt::format("best {} {:.4f} at iteration {}; results in {}", summary.best_metrics.main_name(),
                  summary.best_metrics.main(), summary.best_step, run->path().string()));
  say(fmt::format("  predict: lidere predict --weights {} IMAGES...", run->path().string()));
  if (o.shared.json) {
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
  inference::add_shared_options(
      *cmd, o->shared,
      {Shared::kTask, Shared::kBackbone, Shared::kDevice, Shared::kBatch, Shared::kWorkers, Shared::kSet,
       Shared::kQuiet, Shared::kJson},
      {{Shared::kSet, "Override any setting or task option: --set key=value, --set task.KEY=VALUE (repeatable; "
                      "docs/cli.md)"},
       {Shared::kBatch, "Images per iteration (default 8)"},
       {Shared::kJson, "Print a JSON summary on stdout at the end"}});
  cmd->add_option("--readout", o->readout, "lidere (default) or linear (the linear-probe baseline)");
  cmd->add_option("--imgsz", o->imgsz, "Model input size: 256 or ROWSxCOLS, e.g. 288x384 (default 256)");
  cmd->add_option("--iterations", o->iterations, "Training iterations (default 1000)");
  cmd->add_option("--epochs", o->epochs, "Train for this many passes over the data instead of --iterations");
  cmd->add_option("--name", o->name, "Run name: runs/<task>/<name>, <name>2, ... (default train)");
  cmd->add_option("--project", o->project, "Folder that holds the runs (default runs)");
  cmd->add_option("--config", o->config_file, "Start from a configuration .json (e.g. a run's config.json)");
  cmd->add_option("--resume", o->resume, "Continue the run in this folder (or its weights/last.safetensors)");
  cmd->add_flag("--exist-ok", o->exist_ok, "Reuse runs/<task>/<name> instead of numbering a new folder");
  inference::add_task_flags(*cmd, o->task_flags, tasks::kTrainCommand);
  return [o] { return run(*o); };
}

}  // namespace lidere::cli
