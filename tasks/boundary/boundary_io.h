// The file side of boundary detection: BSDS500-layout datasets (datasets/boundary_dataset.h),
// 8- or 16-bit boundary PNGs, overlays and probabilities from predict, the PR figure, and the BSDS
// benchmark over a folder of any detector's predictions (eval --pred DIR --gt DIR): <id>.png (or
// another image format: a soft or hard map, 8-bit levels / 255) or <id>.mat (an ultrametric contour
// map 'ucm2', or a collection of segmentations 'segs'), matched to the ground-truth files by name,
// scored on worker threads, reported as the original's eval_bdry*.txt files plus a PR curve.
#pragma once

#include <memory>

#include "tasks/task_io.h"

namespace lidere::tasks {

std::unique_ptr<TaskIo> make_boundary_io();

}  // namespace lidere::tasks
