// Batches of a segmentation dataset for training and evaluation. Both are pure functions of the
// batch number (and the seed), so worker threads can build them in any order and a resumed run
// gets exactly the batches the uninterrupted run would have had.
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/augment.h"
#include "datasets/segmentation.h"
#include "tasks/task.h"

namespace lidere::datasets {

struct LoaderSettings {
  std::int64_t rows = 256, cols = 256;  // model input size
  std::int64_t batch = 8;
  std::uint64_t seed = 0;
  AugmentSettings augment;
};

class SegmentationLoader {
 public:
  SegmentationLoader(std::vector<SegmentationSample> samples, LoaderSettings settings);

  std::int64_t images() const { return static_cast<std::int64_t>(samples_.size()); }
  // Training batch `step`: the samples at positions step*batch .. step*batch+batch-1 of an endless
  // sequence of epochs, each epoch a fresh permutation; augmented; images and labels resized to
  // the input size (bilinear / nearest).
  tasks::Batch training_batch(std::int64_t step) const;
  // Evaluation batches in dataset order, not augmented; images resized to the input size, labels
  // kept at their own resolution (metrics are computed there).
  std::int64_t evaluation_batches(std::int64_t limit = 0) const;
  tasks::Batch evaluation_batch(std::int64_t index, std::int64_t limit = 0) const;

 private:
  SegmentationSample const& at_position(std::int64_t position) const;

  std::vector<SegmentationSample> samples_;
  LoaderSettings settings_;
};

}  // namespace lidere::datasets
