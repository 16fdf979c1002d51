// lidere eval: scores a trained readout on a dataset split (--weights, --data), or a folder of any
// tool's predictions against ground truth (--task T --pred DIR --gt DIR). What is measured, the
// files written and the lines printed come from the task plugin.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "core/errors.h"
#include "inference/model.h"
#include "inference/options.h"
#include "inference/prediction.h"
#include "tasks/registry.h"
#include "train/run_dir.h"

namespace lidere::cli {
namespace {

namespace fs = std::filesystem;
using inference::Shared;

struct EvalOptions {
  std::string weights, data, split = "val", pred, gt;
  inference::SharedOptions shared;
  inference::TaskFlags task_flags;
};

fs::path output_folder(const EvalOptions& o, const std::string& task) {
  fs::path out = o.shared.out.empty() ? train::RunDir::create("runs", task, "eval").path() : fs::path(o.shared.out);
  fs::create_directories(out);
  return out;
}

// eval --task T --pred DIR --gt DIR
int score_predictions(const EvalOptions& o) {
  const std::string task = o.shared.task.empty() ? tasks::default_task() : o.shared.task;
  if (!o.weights.empty()) throw UsageError("--pred/--gt score files of predictions, --weights a checkpoint: not both");
  if (o.pred.empty() || o.gt.empty()) {
    throw UsageError(fmt::format("eval --task {} needs --pred (a folder of predictions) and --gt (the ground truth)",
                                 task));
  }
  const nlohmann::json options = tasks::resolve_options(
      tasks::task_entry(task).options(), inference::task_options_from_command_line(o.task_flags, o.shared.sets, task),
      task);
  const auto io = tasks::make_task_io(task);
  const tasks::ScoreReport report = io->score_predictions(
      {task, o.pred, o.gt, output_folder(o, task).string(), options, o.shared.progress(), o.shared.threads});
  if (!o.shared.quiet) {
    for (const auto& line : report.lines) fmt::print(stderr, "{}\n", line);
  }
  if (o.shared.json) fmt::print("{}\n", report.json.dump(2));
  return static_cast<int>(ExitCode::kOk);
}

// eval --weights RUN --data DATA --split S
int evaluate_checkpoint(const EvalOptions& o) {
  const std::string path = inference::resolve_weights(o.weights);
  inference::Checkpoint checkpoint = inference::load_checkpoint(path);
  const std::string name = inference::checkpoint_task(checkpoint, path);
  if (!o.shared.task.empty() && o.shared.task != name) {
    throw InputError(fmt::format("{}: this checkpoint was trained for task '{}', not '{}'", path, name, o.shared.task));
  }
  const nlohmann::json overrides = inference::task_options_from_command_line(o.task_flags, o.shared.sets, name);
  inference::TrainedModel model =
      inference::open_trained_model(path, std::move(checkpoint), o.shared.device, o.shared.backbone, overrides);
  const auto io = tasks::make_task_io(name);
  const nlohmann::json description = model.task->describe();
  tasks::SplitData split = io->open_split(o.data, o.split, description);
  tasks::check_task_matches(model.checkpoint.meta.at("task"), tasks::task_description(name, {}, split.task_fields),
                            model.path);
  split.check();

  inference::LoopSettings loop;
  loop.batch = o.shared.batch;
  loop.workers = static_cast<int>(o.shared.workers);
  loop.tiling = model.task->tiling();
  loop.progress = o.shared.progress();
  loop.label = "eval";
  const auto evaluator = inference::evaluate(model.view(), split.samples, loop);

  const fs::path out = output_folder(o, name);
  const tasks::Metrics metrics = evaluator->metrics();
  const nlohmann::json details = evaluator->details();
  std::vector<std::string> files = evaluator->write_files(out.string());
  inference::write_evaluation_json(metrics, details, out, o.split);
  files.push_back(fmt::format("eval_{}.json", o.split));
  for (const auto& f : io->write_report(metrics, details, out, o.split)) files.push_back(f);
  const std::int64_t images = split.samples.count;
  if (!o.shared.quiet) {
    const std::string tiles = loop.tiling.size > 0
                                  ? fmt::format(", {} px tiles, {} px overlap", loop.tiling.size, loop.tiling.overlap)
                                  : "";
    fmt::print(stderr, "{} on {} ({} images, split {}{}):\n", model.path, o.data, images, o.split, tiles);
    for (const auto& [metric, value] : metrics.values) fmt::print(stderr, "  {:<20} {:.4f}\n", metric, value);
    for (const auto& line : io->summary_lines(metrics, details)) fmt::print(stderr, "{}\n", line);
    fmt::print(stderr, "results in {} ({})\n", out.string(), fmt::join(files, ", "));
  }
  if (o.shared.json) {
    fmt::print("{}\n", nlohmann::json{{"weights", model.path},
                                      {"data", o.data},
                                      {"split", o.split},
                                      {"images", images},
                                      {"metrics", metrics.to_json()},
                                      {"details", details},
                                      {"out", out.string()}}
                           .dump(2));
  }
  return static_cast<int>(ExitCode::kOk);
}

int run(const EvalOptions& o) {
  if (!o.pred.empty() || !o.gt.empty()) return score_predictions(o);
  if (o.weights.empty() || o.data.empty()) {
    throw UsageError("eval needs --weights and --data (or --task TASK --pred DIR --gt DIR)");
  }
  return evaluate_checkpoint(o);
}

}  // namespace

CommandAction add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Evaluate a trained readout on a dataset split, or score any tool's predictions (--pred, --gt)");
  cmd->add_option("--weights", o->weights, "Checkpoint (.safetensors) or run folder (uses weights/best)");
  cmd->add_option("--data", o->data, "Dataset folder or dataset config .json");
  cmd->add_option("--split", o->split, "Split to evaluate (default val)");
  cmd->add_option("--pred", o->pred, "Predictions to score, in the task's format (boundary: a folder of <id>.png or "
                                     "<id>.mat); with --gt and --task");
  cmd->add_option("--gt", o->gt, "Ground truth for --pred (boundary: a folder of BSDS <id>.mat)");
  inference::add_shared_options(
      *cmd, o->shared,
      {Shared::kTask, Shared::kDevice, Shared::kBackbone, Shared::kBatch, Shared::kWorkers, Shared::kThreads,
       Shared::kOut, Shared::kSet, Shared::kQuiet, Shared::kJson},
      {{Shared::kTask, fmt::format("The task of --pred/--gt ({}); a trained readout's task comes from its checkpoint",
                                   fmt::join(tasks::task_names(), ", "))},
       {Shared::kBackbone, "Backbone weights if they moved since training (must be the same weights)"},
       {Shared::kOut, "Folder for the reports (default runs/<task>/evalN)"},
       {Shared::kQuiet, "Only errors (and --json)"}});
  inference::add_task_flags(*cmd, o->task_flags, tasks::kEvalCommand);
  return [o] { return run(*o); };
}

}  // namespace lidere::cli
