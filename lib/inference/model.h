// A readout with everything it runs with: the backbone whose features it reads, the rule that
// sizes it for an input size, the device, and loading a trained one back from a checkpoint or a
// run folder (with the task the checkpoint was trained for).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backbones/backbone.h"
#include "inference/checkpoint.h"
#include "readout/readout_head.h"
#include "tasks/task.h"

namespace lidere::inference {

// Parses "cpu", "cuda", "cuda:N"; throws UsageError for anything else or a CUDA device this
// machine does not have.
torch::Device parse_device(const std::string& text);

// Frozen features of a batch of images (already on the backbone's device), at the model's input size.
using FeatureFunction = std::function<torch::Tensor(const torch::Tensor& images)>;

// The official pre-processing and extraction: images of any size resized to rows x cols (bicubic,
// antialiased; a no-op for images already at that size), then the backbone.
FeatureFunction feature_function(backbones::Backbone& backbone, std::int64_t rows, std::int64_t cols);

// The readout-size rule: for a backbone at an input size, the interpolation target grid
// `base_grid` ([rows, cols]; empty: the official input / 8, rounded down, which is 64 x 64 at both
// 512 px and DINOv2's 518 px), the output 4x that grid, width and heads. Any input the backbone
// takes works (every task brings its outputs to the image's own size). Throws UsageError for a
// size the backbone cannot take or an input under 8 pixels.
readout::ReadoutConfig readout_config_for(const backbones::Backbone& backbone, std::int64_t rows, std::int64_t cols,
                                          std::int64_t dim, std::int64_t heads,
                                          const std::vector<std::int64_t>& base_grid = {});

// The backbone wrapped in the feature cache (backbones/feature_cache.h) when `setting` is "on", or
// "auto" and the augmentation keeps features reusable; never for a backbone with trainable
// parameters, whose features change as it trains. `cached` says what was chosen.
std::unique_ptr<backbones::Backbone> with_feature_cache(std::unique_ptr<backbones::Backbone> backbone,
                                                        const std::string& setting, bool reusable_features,
                                                        const std::string& dir, bool* cached = nullptr);

// What a readout runs with, for evaluation and prediction (inference/prediction.h).
struct ModelView {
  readout::ReadoutHead& readout;
  const tasks::Task& task;
  FeatureFunction features;
  torch::Device device;
  std::int64_t rows, cols;  // the model's input size
};

// A trained model from a checkpoint file or a run folder (its weights/best.safetensors).
struct TrainedModel {
  std::string path;
  Checkpoint checkpoint;
  std::unique_ptr<readout::ReadoutHead> readout;
  std::unique_ptr<tasks::Task> task;  // the checkpoint's task, with this run's option overrides
  std::unique_ptr<backbones::Backbone> backbone;
  std::int64_t rows = 0, cols = 0;
  torch::Device device = torch::kCPU;

  ModelView view() { return {*readout, *task, feature_function(*backbone, rows, cols), device, rows, cols}; }
};

// `backbone`: empty to open the backbone the checkpoint was trained with; a spec to use another
// copy of it (its fingerprint must match the checkpoint's). `task_options`: options of this run
// (flags, --set task.KEY=VALUE) over the checkpoint's (tasks/options.h, options_for_run). Throws
// InputError naming the file for anything that does not fit.
TrainedModel load_trained_model(const std::string& weights_or_run, const std::string& device,
                                const std::string& backbone = "",
                                const nlohmann::json& task_options = nlohmann::json::object());
// The same from a checkpoint already read (load_checkpoint) from `path`.
TrainedModel open_trained_model(const std::string& path, Checkpoint checkpoint, const std::string& device,
                                const std::string& backbone = "",
                                const nlohmann::json& task_options = nlohmann::json::object());

// The name of the task a checkpoint was trained for; InputError naming the file when it has none.
std::string checkpoint_task(const Checkpoint& checkpoint, const std::string& path);

// The checkpoint file a user means: the file itself, or <run>/weights/best.safetensors.
std::string resolve_weights(const std::string& weights_or_run);

// What a checkpoint records about a run's backbone: spec, layers, description, fingerprint, and
// the adapters it trained (none for a frozen backbone).
nlohmann::json describe_backbone(const backbones::Backbone& backbone, const std::string& spec,
                                 const std::vector<int>& layers, const nlohmann::json& adapters = nullptr);

}  // namespace lidere::inference
