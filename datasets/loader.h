// Batches of any dataset for training and evaluation. Both are pure functions of the batch number
// (and the seed), so worker threads can build them in any order and a resumed run gets exactly
// the batches the uninterrupted run would have had. What a dataset supplies is how to decode its
// sample i: for training (image and a target map that is augmented and resized with it) and for
// evaluation (image and the target at the resolution the metrics are computed at).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "datasets/augment.h"
#include "tasks/task.h"

namespace lidere::datasets {

struct LoaderSettings {
  std::int64_t rows = 256, cols = 256;  // model input size
  // Size training targets are resized to (0: the input size). Thin targets such as 1-pixel
  // boundaries survive nearest-neighbour resizing only when it does not shrink them.
  std::int64_t target_rows = 0, target_cols = 0;
  std::int64_t batch = 8;
  std::uint64_t seed = 0;
  AugmentSettings augment;
};

// One decoded sample: image (3, H, W) float RGB in [0, 1], target task-defined.
struct ImageAndTarget {
  torch::Tensor image, target;
};

struct SampleSource {
  std::int64_t count = 0;
  // Training: target (H, W) at the image's size, resized with nearest neighbour (any dtype).
  std::function<ImageAndTarget(std::int64_t)> training;
  // Evaluation: target as the task's evaluator wants it, at its own resolution.
  std::function<ImageAndTarget(std::int64_t)> evaluation;
  std::function<std::string(std::int64_t)> name;  // the image file, for messages and outputs
};

class SampleLoader {
 public:
  SampleLoader(SampleSource source, LoaderSettings settings);
  virtual ~SampleLoader() = default;

  std::int64_t images() const { return source_.count; }
  // Training batch `step`: the samples at positions step*batch .. step*batch+batch-1 of an endless
  // sequence of epochs, each epoch a fresh permutation; augmented; images and targets resized to
  // the input size (bilinear) and the target size (nearest).
  tasks::Batch training_batch(std::int64_t step) const;
  // Evaluation batches in dataset order, not augmented; images resized to the input size, targets
  // kept at their own resolution (metrics are computed there).
  std::int64_t evaluation_batches(std::int64_t limit = 0) const;
  tasks::Batch evaluation_batch(std::int64_t index, std::int64_t limit = 0) const;

 private:
  std::int64_t sample_at(std::int64_t position) const;

  SampleSource source_;
  LoaderSettings settings_;
};

}  // namespace lidere::datasets
