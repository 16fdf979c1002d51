#include "tasks/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/segmentation/segmentation_task.h"

// A task's file side exists only in builds with image I/O (OpenCV); elsewhere its column is null.
#if defined(LIDERE_WITH_OPENCV)
#include "tasks/boundary/boundary_io.h"
#include "tasks/segmentation/segmentation_io.h"
#define LIDERE_TASK_IO(factory) (factory)
#else
#define LIDERE_TASK_IO(factory) nullptr
#endif

namespace lidere::tasks {
namespace {

// The explicit table of tasks, in help order; the first is the default. To add a task, append a
// row (see docs/architecture.md, "Adding a task").
const TaskEntry kTasks[] = {
    {"seg", "semantic segmentation (a class per pixel)", &make_segmentation_task, &segmentation_options,
     LIDERE_TASK_IO(&make_segmentation_io), &segmentation_training_defaults},
    {"boundary", "boundary detection (BSDS500), scored by the BSDS benchmark", &make_boundary_task,
     &boundary_options, LIDERE_TASK_IO(&make_boundary_io), &boundary_training_defaults},
};

std::vector<TaskEntry>& entries() {
  static std::vector<TaskEntry> all(std::begin(kTasks), std::end(kTasks));
  return all;
}

}  // namespace

const std::vector<TaskEntry>& task_entries() { return entries(); }

void add_task(const TaskEntry& entry) {
  for (const auto& e : entries()) {
    if (std::string(e.name) == entry.name) throw UsageError(fmt::format("task '{}' is registered twice", entry.name));
  }
  entries().push_back(entry);
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const TaskEntry& e : task_entries()) names.emplace_back(e.name);
  return names;
}

std::string default_task() { return task_entries().front().name; }

const TaskEntry& task_entry(const std::string& name) {
  for (const TaskEntry& e : task_entries()) {
    if (name == e.name) return e;
  }
  throw UsageError(fmt::format("unknown task '{}' (known: {})", name, fmt::join(task_names(), ", ")));
}

std::unique_ptr<Task> make_task(const nlohmann::json& description) {
  const std::string name = description.value("task", std::string());
  const TaskEntry& entry = task_entry(name);
  try {
    return entry.make(description);
  } catch (const nlohmann::json::exception& error) {
    throw InputError(fmt::format("task description for '{}' is malformed: {}", name, error.what()));
  }
}

std::unique_ptr<TaskIo> make_task_io(const std::string& name) {
  const TaskEntry& entry = task_entry(name);
  if (!entry.make_io) throw UsageError(fmt::format("task '{}': this build has no image I/O (built without OpenCV)", name));
  return entry.make_io();
}

nlohmann::json task_description(const std::string& name, const nlohmann::json& options, const nlohmann::json& fields) {
  nlohmann::json description = options.is_object() ? options : nlohmann::json::object();
  for (const auto& [key, value] : fields.items()) description[key] = value;
  description["task"] = name;
  return description;
}

nlohmann::json description_for_run(const nlohmann::json& stored, const nlohmann::json& overrides) {
  const std::string name = stored.value("task", std::string());
  const OptionTable& table = task_entry(name).options();
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [key, value] : stored.items()) {
    if (key != "task" && !find_option(table, key)) fields[key] = value;
  }
  return task_description(name, options_for_run(table, stored, overrides, name), fields);
}

void check_task_matches(const nlohmann::json& stored, const nlohmann::json& wanted, const std::string& checkpoint) {
  const auto stored_task = stored.value("task", std::string("?")), wanted_task = wanted.value("task", std::string("?"));
  if (stored_task != wanted_task) {
    throw InputError(
        fmt::format("{}: this checkpoint was trained for task '{}', not '{}'", checkpoint, stored_task, wanted_task));
  }
  const auto names = [](const nlohmann::json& d) { return d.value("class_names", std::vector<std::string>{}); };
  const auto a = names(stored), b = names(wanted);
  if (a.size() != b.size()) {
    throw InputError(fmt::format("{}: this checkpoint predicts {} classes, but the dataset has {} ({})", checkpoint,
                                 a.size(), b.size(), fmt::join(b, ", ")));
  }
  if (a != b) {
    throw InputError(fmt::format("{}: the checkpoint's classes ({}) differ from the dataset's ({})", checkpoint,
                                 fmt::join(a, ", "), fmt::join(b, ", ")));
  }
}

}  // namespace lidere::tasks
