// The training loop shared by every task: backbone features -> readout -> task loss, AdamW with a
// warm-up + cosine schedule, validation with the task's metric every N iterations, best and last
// checkpoints, and exact resumption. The backbone is frozen unless it has trainable parameters
// (LoRA adapters), which are then optimised with the readout, their features computed with
// gradients.
//
// Why a resumed run ends where an uninterrupted one does: batch k of the run is a pure function of
// (seed, k) (sample order and augmentation draw from streams keyed by seed, epoch and sample, see
// core/rng.h), the readout has no randomness after initialisation, and the checkpoint holds the
// weights, the optimiser's moments and step, the best metric so far and the running loss sums of
// the current metrics row. Nothing else carries state from one iteration to the next.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "core/progress.h"
#include "data/batch.h"
#include "data/loader.h"
#include "inference/checkpoint.h"
#include "inference/model.h"
#include "readout/readout_head.h"
#include "tasks/task.h"
#include "train/run_dir.h"
#include "train/train_config.h"

namespace lidere::train {

// Training batches: make(step) for every step (the task's targets are added by the trainer).
struct BatchSource {
  std::int64_t images = 0;  // images behind the source (for epochs)
  std::function<data::Batch(std::int64_t)> make;
};

using inference::FeatureFunction;
using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

struct TrainSummary {
  std::int64_t iterations = 0;
  double seconds = 0.0;
  tasks::Metrics final_metrics, best_metrics;
  std::int64_t best_step = 0;
  bool interrupted = false;  // Ctrl-C: last.safetensors holds the state to resume from
};

class Trainer {
 public:
  // `checkpoint_meta`: what every checkpoint of the run records besides the training state (task,
  // readout, backbone, input size, configuration). `backbone_parameters`: the backbone's
  // trainable parameters (Backbone::trainable_parameters()), empty for a frozen backbone.
  Trainer(const TrainConfig& config, readout::ReadoutHead& readout, const tasks::Task& task, FeatureFunction features,
          const RunDir& run, nlohmann::json checkpoint_meta, ProgressMode progress,
          NamedParameters backbone_parameters = {});

  // Trains to config.iterations (continuing from `resume` when given), validating on the first
  // config.val_images samples of `val` (all for 0). `on_validation` runs after each metrics row is
  // written (e.g. to redraw the curves).
  TrainSummary run(const BatchSource& train, const data::SampleSource& val, const inference::Checkpoint* resume,
                   const std::function<void()>& on_validation = {});

 private:
  void log(const std::string& line) const;
  // A resumed run's trained backbone parameters (checkpoint "backbone/" tensors).
  void restore_backbone(const std::map<std::string, torch::Tensor>& saved, const std::string& path);

  TrainConfig config_;
  readout::ReadoutHead& readout_;
  const tasks::Task& task_;
  FeatureFunction features_;
  const RunDir& run_;
  nlohmann::json meta_;
  ProgressMode progress_;
  torch::Device device_;
  NamedParameters backbone_parameters_;
};

}  // namespace lidere::train
