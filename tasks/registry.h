// The tasks lidere knows, by the name users type after --task: an explicit table (tasks/
// registry.cpp), one row per task. A row gives the task's factory (from a description, e.g. as a
// checkpoint stores it), its option table, and its file side (null in builds without image I/O).
//
// To add a task: docs/architecture.md ("Adding a task"); the row is the only line outside the
// task's own folder. Builds that bring their own tasks (the test build's toy task) add rows with
// add_task() before anything else runs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tasks/options.h"
#include "tasks/task.h"
#include "tasks/task_io.h"

namespace lidere::tasks {

struct TaskEntry {
  const char* name;
  const char* summary;  // one line for --help
  // A task from its description (Task::describe()); throws UsageError or InputError when the
  // description does not fit the task.
  std::unique_ptr<Task> (*make)(const nlohmann::json& description);
  const OptionTable& (*options)();
  std::unique_ptr<TaskIo> (*make_io)();  // null where the build has no image I/O
  // Training settings that make a first run with no options converge for this task (JSON of
  // train settings, e.g. {"lr": 0.01, "iterations": 1000}, task options under "task_options");
  // the user's settings override them. Null: the settings' own defaults.
  nlohmann::json (*training_defaults)() = nullptr;
};

// Every task: the table's rows, then rows added with add_task().
const std::vector<TaskEntry>& task_entries();
void add_task(const TaskEntry& entry);
std::vector<std::string> task_names();
// The task used when none is named: the table's first row.
std::string default_task();
// Throws UsageError listing the known tasks for an unknown name.
const TaskEntry& task_entry(const std::string& name);

// A task from its description: {"task": name, ...fields and options}. Throws UsageError for an
// unknown task name and InputError for a description that does not fit the task.
std::unique_ptr<Task> make_task(const nlohmann::json& description);
// The file side of a task; throws UsageError in a build without image I/O.
std::unique_ptr<TaskIo> make_task_io(const std::string& name);

// A task's description from its resolved options and what its data says ({"task": name} +
// options + fields; fields win).
nlohmann::json task_description(const std::string& name, const nlohmann::json& options, const nlohmann::json& fields);

// The description a command runs a stored task (a checkpoint's) with: its data-derived fields, the
// stored values of carried options, defaults for the other options, then `overrides`.
nlohmann::json description_for_run(const nlohmann::json& stored, const nlohmann::json& overrides);

// Throws InputError (naming `checkpoint`) unless a checkpoint made for task description `stored`
// can serve the task `wanted`: the same task and the same outputs (class count and names).
void check_task_matches(const nlohmann::json& stored, const nlohmann::json& wanted, const std::string& checkpoint);

}  // namespace lidere::tasks
