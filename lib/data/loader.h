// Batches of any dataset for training and evaluation. Both are pure functions of the batch number
// (and the seed), so worker threads can build them in any order and a resumed run gets exactly
// the batches the uninterrupted run would have had. What a dataset supplies is how to read its
// sample i: the image at its own size and its annotation (data/annotation.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/augment.h"
#include "data/batch.h"

namespace lidere::data {

struct LoaderSettings {
  std::int64_t rows = 256, cols = 256;  // model input size
  std::int64_t batch = 8;
  std::uint64_t seed = 0;
  AugmentSettings augment;
};

// One decoded sample: image (3, H, W) float RGB in [0, 1] and its annotation, at the image's size.
struct Sample {
  torch::Tensor image;
  Annotation annotation;
};

struct SampleSource {
  std::int64_t count = 0;
  std::function<Sample(std::int64_t)> read;       // throws InputError naming the file it cannot read
  std::function<std::string(std::int64_t)> name;  // the image file, for messages and outputs
};

class SampleLoader {
 public:
  SampleLoader(SampleSource source, LoaderSettings settings);

  std::int64_t images() const { return source_.count; }
  const SampleSource& source() const { return source_; }
  // Training batch `step`: the samples at positions step*batch .. step*batch+batch-1 of an endless
  // sequence of epochs, each epoch a fresh permutation; augmented (images resized to the input size,
  // annotations with the transform drawn for them).
  Batch training_batch(std::int64_t step) const;
  // Evaluation batches in dataset order, not augmented; images resized to the input size,
  // annotations at their own resolution (identity transforms).
  std::int64_t evaluation_batches(std::int64_t limit = 0) const;
  Batch evaluation_batch(std::int64_t index, std::int64_t limit = 0) const;

 private:
  std::int64_t sample_at(std::int64_t position) const;

  SampleSource source_;
  LoaderSettings settings_;
};

}  // namespace lidere::data
