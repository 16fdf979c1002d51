// lidere eval --task boundary: the BSDS boundary benchmark over a folder of predictions.
#pragma once

#include <string>

#include "train/progress.h"

namespace lidere::cli {

struct BoundaryEvalOptions {
  std::string pred, gt, out;
  int thresholds = 99;
  double max_dist = 0.0075;
  bool thin = true, json = false;
  int workers = 0;  // 0: one per core
  train::ProgressMode progress = train::ProgressMode::kAuto;
};

int run_boundary_eval(const BoundaryEvalOptions& options);

}  // namespace lidere::cli
