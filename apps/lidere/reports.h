// Pictures of a run that every task has: the training curves.
#pragma once

#include "train/run_dir.h"

namespace lidere::cli {

// results.png in the run folder: train loss and every validation metric against iterations.
void draw_training_curves(const train::RunDir& run);

}  // namespace lidere::cli
