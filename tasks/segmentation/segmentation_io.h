// The file side of semantic segmentation: datasets in the layouts of datasets/dataset_config.h,
// palette-PNG masks, overlays and probabilities from predict, the confusion matrix as CSV and PNG.
#pragma once

#include <memory>

#include "tasks/task_io.h"

namespace lidere::tasks {

std::unique_ptr<TaskIo> make_segmentation_io();

}  // namespace lidere::tasks
