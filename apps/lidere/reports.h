// Files people look at after a run or an evaluation: curves, confusion matrices, summaries.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tasks/task.h"
#include "train/run_dir.h"

namespace lidere::cli {

// results.png in the run folder: train loss and every validation metric against iterations.
void draw_training_curves(const train::RunDir& run);

// From an evaluation's metrics and details: <dir>/eval_<split>.json, and where the task has a
// confusion matrix, <dir>/confusion_<split>.csv and .png.
void write_evaluation_report(const tasks::Metrics& metrics, const nlohmann::json& details,
                             const std::filesystem::path& dir, const std::string& split);

}  // namespace lidere::cli
