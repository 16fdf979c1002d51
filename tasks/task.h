// What the trainer knows about a task: how to score the readout's output against a batch's
// targets (the loss) and how to measure it (an evaluator). Tasks see the readout only through its
// output logits; the trainer sees a task only through this header.
//
// To add a task: implement Task (and its Evaluator) in tasks/<name>/, then add a row to the
// table in tasks/registry.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json_fwd.hpp>

namespace lidere::tasks {

// One batch as the data pipeline delivers it.
struct Batch {
  torch::Tensor images;                // (B, 3, H, W) RGB in [0, 1] at the model's input size
  std::vector<torch::Tensor> targets;  // one per image, task-defined (segmentation: (h, w) int64)
  std::vector<std::string> names;      // the image files, for messages and outputs
  std::int64_t size() const { return static_cast<std::int64_t>(names.size()); }
};

// Named results of an evaluation, in the order they are reported; the first is the one that
// selects the best checkpoint (higher is better).
struct Metrics {
  std::vector<std::pair<std::string, double>> values;
  double main() const { return values.empty() ? 0.0 : values.front().second; }
  const std::string& main_name() const { return values.front().first; }
  double at(const std::string& name) const;  // throws std::out_of_range for an unknown name
  nlohmann::json to_json() const;
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // logits: (B, C, h, w) at the readout's output resolution, for the batch's images in order.
  virtual void add(const torch::Tensor& logits, const Batch& batch) = 0;
  virtual Metrics metrics() const = 0;
  // Everything worth keeping beyond the headline numbers (e.g. per-class IoU, confusion matrix).
  virtual nlohmann::json details() const = 0;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual std::int64_t output_channels() const = 0;
  // Initial bias of the readout's last layer (e.g. -5 for sparse heatmaps).
  virtual double out_bias() const { return 0.0; }
  // Scalar loss of logits (B, C, h, w) for the batch.
  virtual torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) const = 0;
  virtual std::unique_ptr<Evaluator> evaluator() const = 0;
  // What a checkpoint records about the task, so a checkpoint of another task or class count is
  // refused by name (see describe/check in tasks/registry.h).
  virtual nlohmann::json describe() const = 0;
};

}  // namespace lidere::tasks
