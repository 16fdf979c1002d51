// The settings a first `lidere train` with no options trains with, per task and backbone: the
// task's training defaults (its registry row: learning rate, length, task options) and the
// backbone's input size (backbones/registry.h), taken from the runs of docs/results.md (the sweep
// that checks each converges on the shared datasets is open: issue 12). A setting the user gives (a
// configuration file or the command line) always wins.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lidere::inference {

// {"imgsz": [r, c], "lr": ..., "iterations": ..., "task_options": {...}}: only what the task and
// the backbone recommend; settings they leave out keep train::TrainConfig's defaults.
nlohmann::json recommended_settings(const std::string& task, const std::string& backbone);

}  // namespace lidere::inference
