// The tasks lidere knows, by the name users type after --task.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/task.h"

namespace lidere::tasks {

// Names of the registered tasks, in help order.
std::vector<std::string> task_names();

// A task from its description (Task::describe(), e.g. as stored in a checkpoint):
// {"task": "seg", "class_names": [...], "ignore_index": 255}. Throws UsageError for an unknown
// task name and InputError for a description that does not fit the task.
std::unique_ptr<Task> make_task(const nlohmann::json& description);

// Throws InputError (naming `checkpoint`) unless a checkpoint made for task description `stored`
// can serve the task `wanted`: the same task and the same outputs (class count and names).
void check_task_matches(const nlohmann::json& stored, const nlohmann::json& wanted, const std::string& checkpoint);

}  // namespace lidere::tasks
