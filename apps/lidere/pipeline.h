// What train, eval and predict share: opening the backbone a run or checkpoint names, building
// the readout for it, turning images into frozen features, and loading a trained model back.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backbones/backbone.h"
#include "readout/readout_head.h"
#include "tasks/boundary/tiling.h"
#include "tasks/task.h"
#include "train/checkpoint.h"
#include "train/progress.h"
#include "train/trainer.h"

namespace lidere::cli {

// --quiet, else automatic (a bar on a terminal, plain lines otherwise).
train::ProgressMode progress_mode(bool quiet);

// The readout configuration for a backbone at an input size: the official grids (interpolation
// target = input / 8, output = input / 2), width, heads and the task's outputs.
readout::ReadoutConfig readout_config_for(const backbones::Backbone& backbone, std::int64_t rows, std::int64_t cols,
                                          std::int64_t dim, std::int64_t heads, const tasks::Task& task);

// Frozen features of images already on the backbone's device, resized to rows x cols.
train::FeatureFunction feature_function(backbones::Backbone& backbone, std::int64_t rows, std::int64_t cols);

// A trained model from a checkpoint file or a run folder (its weights/best.safetensors).
struct TrainedModel {
  std::string path;
  train::Checkpoint checkpoint;
  std::unique_ptr<readout::ReadoutHead> readout;
  std::unique_ptr<tasks::Task> task;
  std::unique_ptr<backbones::Backbone> backbone;
  std::int64_t rows = 0, cols = 0;
  torch::Device device = torch::kCPU;
};
// `backbone`: empty to open the backbone the checkpoint was trained with; a spec to use another
// copy of it (its fingerprint must match the checkpoint's).
TrainedModel load_trained_model(const std::string& weights_or_run, const std::string& device,
                                const std::string& backbone = "");

// Boundary probabilities (H, W) of an image (3, H, W) at its own size, from a boundary model:
// tiled as the official evaluation (tiles.size > 0, `batch` tiles at once) or the whole image.
torch::Tensor predict_boundary_probabilities(TrainedModel& model, const train::FeatureFunction& features,
                                             const torch::Tensor& image, const tasks::boundary::TileSettings& tiles,
                                             std::int64_t batch);

// The checkpoint file a user means: the file itself, or <run>/weights/best.safetensors.
std::string resolve_weights(const std::string& weights_or_run);

}  // namespace lidere::cli
