// What a task is to the rest of lidere. A task plugin owns its whole path; this header is its
// LibTorch-only core, which the trainer and the inference library see:
//   heads()          the readout outputs it needs (one head: the LiDeRe readout; several: the
//                    multi-head readout, with an optional embedding map)
//   build_targets()  training targets from a batch's annotations and augmentation transforms
//   loss()           a scalar from the readout's outputs and the targets
//   results()        one image's outputs at its own resolution (what evaluation and predict use)
//   tiling()         whether inference runs on tiles of large images (the tiling hook)
//   evaluator()      metrics, details and extra files of an evaluation
//   describe()       what a checkpoint records: task name, data-derived fields, options
// Its file I/O (opening a dataset split, writing predictions and report figures, scoring external
// predictions) is tasks/task_io.h, built with OpenCV. Options are declared in tasks/options.h.
//
// How to add a task: docs/architecture.md ("Adding a task").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json_fwd.hpp>

#include "data/annotation.h"
#include "data/batch.h"
#include "readout/head_layout.h"
#include "readout/readout_head.h"

namespace lidere::tasks {

// Named tensors: readout outputs, per-image results.
using Outputs = readout::Outputs;

// Named results of an evaluation, in the order they are reported; the first is the one that
// selects the best checkpoint (higher is better).
struct Metrics {
  std::vector<std::pair<std::string, double>> values;
  double main() const { return values.empty() ? 0.0 : values.front().second; }
  const std::string& main_name() const { return values.front().first; }
  double at(const std::string& name) const;  // throws std::out_of_range for an unknown name
  nlohmann::json to_json() const;
};

// Tiled inference (inference/tiling.h): square tiles of `size` image pixels, `overlap` apart from
// each other's ends; size 0 = the whole image at once.
struct Tiling {
  std::int64_t size = 0;
  std::int64_t overlap = 0;
};
// From user settings: size 0 = whole images; overlap < 0 = a fifth of the tile (the official
// int(0.2 x S)). Throws UsageError for a negative size or an overlap not in [0, size).
Tiling make_tiling(std::int64_t size, std::int64_t overlap);

// Accumulates images, then reports (Detectron2's DatasetEvaluator: process, evaluate).
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // One image: its results (Task::results, at the image's own resolution) against its annotation.
  virtual void add(const Outputs& results, const data::Annotation& truth) = 0;
  virtual Metrics metrics() const = 0;
  // Everything worth keeping beyond the headline numbers (e.g. per-class IoU, confusion matrix).
  virtual nlohmann::json details() const = 0;
  // Files beyond eval_<split>.json that the evaluation's own format has (e.g. the BSDS benchmark's
  // eval_bdry*.txt), written into `dir`; returns their names.
  virtual std::vector<std::string> write_files(const std::string& dir) const;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual readout::HeadLayout heads() const = 0;
  // Fills batch.targets from batch.annotations and batch.transforms (runs on worker threads).
  virtual void build_targets(data::Batch& batch) const = 0;
  // Scalar loss of the readout's outputs (each (B, C, h, w)) for a batch with targets.
  virtual torch::Tensor loss(const Outputs& outputs, const data::Batch& batch) const = 0;
  // One image's outputs (each (1, C, h, w), float32 on the CPU) as results at rows x cols (dense
  // results (C, rows, cols), which tiled inference averages where tiles overlap).
  virtual Outputs results(const Outputs& outputs, std::int64_t rows, std::int64_t cols) const = 0;
  // How inference (eval --weights, predict) covers an image; validation in training always runs on
  // whole images.
  virtual Tiling tiling() const { return {}; }
  virtual std::unique_ptr<Evaluator> evaluator() const = 0;
  // What a checkpoint records about the task: {"task": name, data-derived fields (e.g.
  // "class_names"), every option}; make_task() of it gives the same task back.
  virtual nlohmann::json describe() const = 0;
};

}  // namespace lidere::tasks
