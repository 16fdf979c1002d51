// The settings a first `lidere train` with no options trains with, per task and backbone: the
// task's training defaults (its registry row: learning rate, length, task options) and the
// backbone's input size (backbones/registry.h), taken from the runs of docs/results.md (each
// no-option run there reaches 90% of the best found on its set; a full DINOv2-S sweep is open:
// issue 12). A setting the user gives (a configuration file or the command line) always wins.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lidere::inference {

// The adapters' learning rate for a run with LoRA (TrainConfig::lora_lr): at the readout's 0.01
// they never leave the majority class, at 1e-4 they train (docs/results.md, LoRA).
inline constexpr double kRecommendedLoraLr = 1e-4;

// {"imgsz": [r, c], "lr": ..., "iterations": ..., "task_options": {...}}: only what the task and
// the backbone recommend (and "lora_lr" for a run that trains adapters); settings they leave out
// keep train::TrainConfig's defaults.
nlohmann::json recommended_settings(const std::string& task, const std::string& backbone, bool adapters = false);

}  // namespace lidere::inference
