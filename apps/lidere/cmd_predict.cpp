// lidere predict: runs a trained readout on image files and folders (recursively) and writes, for
// each image at its own resolution, what the checkpoint's task writes (segmentation: palette-PNG
// masks; boundary: 8- or 16-bit boundary maps, tiled as the official evaluation), overlays, and
// optionally the raw probabilities.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "core/errors.h"
#include "core/image_files.h"
#include "core/image_io.h"
#include "inference/model.h"
#include "inference/options.h"
#include "inference/prediction.h"
#include "tasks/registry.h"
#include "train/run_dir.h"

namespace lidere::cli {
namespace {

namespace fs = std::filesystem;
using inference::Shared;

struct PredictOptions {
  std::string weights;
  std::vector<std::string> sources;
  inference::SharedOptions shared;
  inference::TaskFlags task_flags;
  bool probabilities = false, no_overlay = false;
};

int run(const PredictOptions& o) {
  const std::string path = inference::resolve_weights(o.weights);
  inference::Checkpoint checkpoint = inference::load_checkpoint(path);
  const std::string name = inference::checkpoint_task(checkpoint, path);
  inference::TrainedModel model =
      inference::open_trained_model(path, std::move(checkpoint), o.shared.device, o.shared.backbone,
                                    inference::task_options_from_command_line(o.task_flags, o.shared.sets, name));
  const std::vector<ImageInput> inputs = find_images(o.sources);
  const fs::path out =
      o.shared.out.empty() ? train::RunDir::create("runs", name, "predict").path() : fs::path(o.shared.out);
  const auto io = tasks::make_task_io(name);
  const auto writer = io->predict_writer(*model.task, out, {!o.no_overlay, o.probabilities});

  const data::SampleSource source{static_cast<std::int64_t>(inputs.size()),
                                  [&](std::int64_t i) {
                                    return data::Sample{read_image_rgb(inputs[static_cast<std::size_t>(i)].file.string()),
                                                        {}};
                                  },
                                  [&](std::int64_t i) { return inputs[static_cast<std::size_t>(i)].file.string(); }};
  inference::LoopSettings loop;
  loop.batch = o.shared.batch;
  loop.workers = static_cast<int>(o.shared.workers);
  loop.tiling = model.task->tiling();
  loop.progress = o.shared.progress();
  nlohmann::json written = nlohmann::json::array();
  inference::run_readout(model.view(), source, loop,
                         [&](std::int64_t i, const data::Sample& sample, const tasks::Outputs& results) {
                           written.push_back(writer->write(inputs[static_cast<std::size_t>(i)], sample.image, results));
                         });
  if (!o.shared.quiet) fmt::print(stderr, "{}\n", writer->summary(inputs.size()));
  if (o.shared.json)
    fmt::print("{}\n", nlohmann::json{{"weights", model.path}, {"out", out.string()}, {"outputs", written}}.dump(2));
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

CommandAction add_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd =
      app.add_subcommand("predict", "Predict for images and folders (recursive; JPEG, PNG, BMP, TIFF, WebP)");
  cmd->add_option("sources", o->sources, "Image files and folders")->required();
  cmd->add_option("--weights", o->weights, "Checkpoint (.safetensors) or run folder (uses weights/best)")->required();
  inference::add_shared_options(
      *cmd, o->shared,
      {Shared::kDevice, Shared::kBackbone, Shared::kBatch, Shared::kWorkers, Shared::kOut, Shared::kSet,
       Shared::kQuiet, Shared::kJson},
      {{Shared::kOut, "Output folder (default runs/<task>/predictN)"},
       {Shared::kBackbone, "Backbone weights if they moved since training (must be the same weights)"},
       {Shared::kJson, "Print the written files as JSON on stdout"}});
  cmd->add_flag("--probabilities", o->probabilities, "Also write class probabilities (float16 safetensors, C x H x W)");
  cmd->add_flag("--no-overlay", o->no_overlay, "Do not write colour overlays");
  inference::add_task_flags(*cmd, o->task_flags, tasks::kPredictCommand);
  return [o] { return run(*o); };
}

}  // namespace lidere::cli
