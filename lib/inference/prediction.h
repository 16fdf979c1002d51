// The prediction loop shared by validation, `lidere eval --weights` and `lidere predict`: samples
// are decoded ahead on worker threads, the readout runs without gradients on whole images (resized
// to the model's input size, `batch` at a time) or, where the task's tiling hook asks for it, on
// tiles of each image (inference/tiling.h), and each image's results come back at the image's own
// resolution (Task::results).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/progress.h"
#include "data/loader.h"
#include "inference/model.h"
#include "tasks/task.h"

namespace lidere::inference {

struct LoopSettings {
  std::int64_t batch = 8;   // images per forward pass, or tiles per forward pass when tiling
  int workers = 2;          // samples decoded ahead
  tasks::Tiling tiling;     // size 0: whole images
  std::int64_t limit = 0;   // only the first N samples (0: all)
  ProgressMode progress = ProgressMode::kQuiet;
  std::string label = "predict";  // the progress line's label
};

// Called for each sample in order with its results at the image's own size.
using ResultSink = std::function<void(std::int64_t index, const data::Sample& sample, const tasks::Outputs& results)>;

// Runs the readout over the samples of `source`; restores the readout's train/eval mode.
void run_readout(const ModelView& model, const data::SampleSource& source, const LoopSettings& settings,
                 const ResultSink& sink);

// run_readout into the task's evaluator, which it returns filled. Releases the inference-only
// caches of the interpolation op afterwards, so that training does not carry them.
std::unique_ptr<tasks::Evaluator> evaluate(const ModelView& model, const data::SampleSource& source,
                                           const LoopSettings& settings);

// <dir>/eval_<split>.json: {"split", "metrics", "details"}.
void write_evaluation_json(const tasks::Metrics& metrics, const nlohmann::json& details,
                           const std::filesystem::path& dir, const std::string& split);

}  // namespace lidere::inference
