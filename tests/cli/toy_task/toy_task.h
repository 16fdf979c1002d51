// A toy task that only the test build registers (tests/cli/toy_task_main.cpp): it predicts each
// pixel's brightness (luma) and its inverse with two heads, from folders of images that are their
// own ground truth. It exists to show that a task is one folder and one registry row: the real CLI
// trains, evaluates, predicts and scores it with no line of apps/ or lib/train knowing it
// (tests/cli/test_toy_task.sh).
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "tasks/options.h"
#include "tasks/task.h"
#include "tasks/task_io.h"

namespace lidere::toy {

// Options: tolerance (a pixel is right within it; flag --tolerance), weight (of the inverse head's loss).
const tasks::OptionTable& toy_options();
std::unique_ptr<tasks::Task> make_toy_task(const nlohmann::json& description);
std::unique_ptr<tasks::TaskIo> make_toy_io();

}  // namespace lidere::toy
