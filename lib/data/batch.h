// One batch as the data pipeline delivers it to a task: the images at the model's input size and,
// per image, its annotation in the image's own (source) frame with the geometric transform the
// augmentation drew for it. A task builds its training targets from these (Task::build_targets,
// on the loader's worker threads) by letting each annotation apply the transform at the size the
// task wants; evaluation batches carry identity transforms, so the annotation is the ground truth
// at its own resolution.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "data/annotation.h"
#include "data/geometry.h"

namespace lidere::data {

struct Batch {
  torch::Tensor images;                           // (B, 3, H, W) RGB in [0, 1] at the model's input size
  std::vector<Annotation> annotations;            // one per image, in its source frame
  std::vector<GeometricTransform> transforms;     // one per image (source size in source_rows/cols)
  std::vector<std::string> names;                 // the image files, for messages and outputs
  std::map<std::string, torch::Tensor> targets;  // training targets, built by the task
  std::int64_t size() const { return static_cast<std::int64_t>(names.size()); }
};

}  // namespace lidere::data
