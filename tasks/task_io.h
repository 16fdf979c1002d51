// The file side of a task plugin (built with OpenCV): how its data opens, how its predictions and
// report figures are written, and how it scores predictions made by any other tool. The commands
// reach it through the registry (tasks/registry.h) and name no task.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "core/image_files.h"
#include "core/progress.h"
#include "data/loader.h"
#include "tasks/task.h"

namespace lidere::tasks {

// One split of a dataset: its samples, found but not yet decoded.
struct SplitData {
  data::SampleSource samples;
  std::string description;  // what the log says about it, e.g. "4 classes, ignore index 255"
  // What the data says about the task (e.g. "class_names"); merged into the task's description.
  nlohmann::json task_fields = nlohmann::json::object();
  // Decodes every file and checks it (InputError naming the file and the problem); returns what
  // that taught about the task (e.g. the largest image side), to merge into task_fields. Callers
  // first compare task_fields with a checkpoint's, so a wrong dataset is named before any decoding.
  std::function<nlohmann::json()> check;
};

struct PredictSettings {
  bool overlay = true;         // pictures people look at
  bool probabilities = false;  // raw scores as float16 safetensors
};

// Writes one image's predictions; `write` returns what it wrote (for --json), by kind.
class PredictWriter {
 public:
  virtual ~PredictWriter() = default;
  virtual nlohmann::json write(const ImageInput& input, const torch::Tensor& image, const Outputs& results) = 0;
  // The closing line, e.g. "4 masks in runs/seg/predict/masks".
  virtual std::string summary(std::size_t images) const = 0;
};

// lidere eval --task T --pred P --gt G: predictions of any tool against ground truth.
struct ScoreRequest {
  std::string task;  // its name, for messages
  std::string pred, gt, out;
  nlohmann::json options;  // the task's resolved options
  ProgressMode progress = ProgressMode::kAuto;
  int threads = 0;  // 0: one per core
};
struct ScoreReport {
  nlohmann::json json;             // printed with --json
  std::vector<std::string> lines;  // printed unless --quiet
};

// Class scores or probabilities (C, H, W) as float16 safetensors with the class names and the
// image in the metadata (predict --probabilities, any task).
void write_probabilities(const std::filesystem::path& file, const torch::Tensor& values,
                         const std::vector<std::string>& names, const std::filesystem::path& image);

class TaskIo {
 public:
  virtual ~TaskIo() = default;
  // Opens one split of a dataset (a path as the user gave it); throws InputError naming the
  // folder or file when the layout is not there.
  virtual SplitData open_split(const std::string& data, const std::string& split,
                               const nlohmann::json& options) const = 0;
  virtual std::unique_ptr<PredictWriter> predict_writer(const Task& task, const std::filesystem::path& out,
                                                        const PredictSettings& settings) const = 0;
  // Figures and tables of an evaluation (besides eval_<split>.json) into `dir`; returns their names.
  virtual std::vector<std::string> write_report(const Metrics& metrics, const nlohmann::json& details,
                                                const std::filesystem::path& dir, const std::string& split) const = 0;
  // Lines printed after the metrics (e.g. per-class IoU); none by default.
  virtual std::vector<std::string> summary_lines(const Metrics& metrics, const nlohmann::json& details) const;
  // Scores external predictions; by default the task has no such scorer (UsageError).
  virtual ScoreReport score_predictions(const ScoreRequest& request) const;
};

}  // namespace lidere::tasks
