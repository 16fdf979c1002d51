#include "tasks/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/segmentation/segmentation_task.h"

namespace lidere::tasks {
namespace {

std::unique_ptr<Task> make_segmentation(const nlohmann::json& d) {
  SegmentationSpec spec;
  spec.class_names = d.at("class_names").get<std::vector<std::string>>();
  spec.ignore_index = d.value("ignore_index", std::int64_t{255});
  return std::make_unique<SegmentationTask>(std::move(spec));
}

std::unique_ptr<Task> make_boundary(const nlohmann::json& d) {
  BoundarySpec spec;
  spec.balanced = d.value("balanced", spec.balanced);
  spec.thresholds = d.value("thresholds", spec.thresholds);
  spec.max_dist = d.value("max_dist", spec.max_dist);
  spec.nms_tolerance = d.value("nms_tolerance", spec.nms_tolerance);
  return std::make_unique<BoundaryTask>(spec);
}

struct Entry {
  const char* name;
  std::unique_ptr<Task> (*make)(const nlohmann::json&);
};

// The explicit table of tasks. To add one, append a row (and see tasks/task.h).
constexpr Entry kTasks[] = {
    {"seg", &make_segmentation},
    {"boundary", &make_boundary},
};

}  // namespace

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const Entry& e : kTasks) names.emplace_back(e.name);
  return names;
}

std::unique_ptr<Task> make_task(const nlohmann::json& description) {
  const std::string name = description.value("task", std::string());
  for (const Entry& e : kTasks) {
    if (name != e.name) continue;
    try {
      return e.make(description);
    } catch (const nlohmann::json::exception& error) {
      throw InputError(fmt::format("task description for '{}' is malformed: {}", name, error.what()));
    }
  }
  throw UsageError(fmt::format("unknown task '{}' (known: {})", name, fmt::join(task_names(), ", ")));
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
