// The training loop shared by every task: frozen backbone features -> readout -> task loss,
// AdamW with a warm-up + cosine schedule, validation with the task's metric every N iterations,
// best and last checkpoints, and exact resumption.
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

#include "readout/readout_head.h"
#include "tasks/task.h"
#include "train/checkpoint.h"
#include "train/progress.h"
#include "train/run_dir.h"
#include "train/train_config.h"

namespace lidere::train {

// Numbered batches: make(i) for i in [0, count) (count < 0: unbounded, as training batches).
struct BatchSource {
  std::int64_t count = -1;
  std::int64_t images = 0;  // images behind the source (for epochs)
  std::function<tasks::Batch(std::int64_t)> make;
};

// Frozen features of a batch of images (already on the training device).
using FeatureFunction = std::function<torch::Tensor(const torch::Tensor& images)>;

// Parses "cpu", "cuda", "cuda:N"; throws UsageError for anything else or a CUDA device this
// machine does not have.
torch::Device parse_device(const std::string& text);

// Runs the readout over every batch of `data` without gradients and returns the filled evaluator.
std::unique_ptr<tasks::Evaluator> evaluate(readout::ReadoutHead& readout, const tasks::Task& task,
                                           const FeatureFunction& features, const BatchSource& data,
                                           torch::Device device, ProgressMode progress, int workers);

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
  // readout, backbone, input size, configuration).
  Trainer(const TrainConfig& config, readout::ReadoutHead& readout, const tasks::Task& task, FeatureFunction features,
          const RunDir& run, nlohmann::json checkpoint_meta, ProgressMode progress);

  // Trains to config.iterations (continuing from `resume` when given). `on_validation` runs after
  // each metrics row is written (e.g. to redraw the curves).
  TrainSummary run(const BatchSource& train, const BatchSource& val, const Checkpoint* resume,
                   const std::function<void()>& on_validation = {});

 private:
  void log(const std::string& line) const;

  TrainConfig config_;
  readout::ReadoutHead& readout_;
  const tasks::Task& task_;
  FeatureFunction features_;
  const RunDir& run_;
  nlohmann::json meta_;
  ProgressMode progress_;
  torch::Device device_;
};

}  // namespace lidere::train
