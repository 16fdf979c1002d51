#include "tasks/task_io.h"

#include <fmt/format.h>

#include "core/errors.h"
#include "core/tensor_file.h"

namespace lidere::tasks {

void write_probabilities(const std::filesystem::path& file, const torch::Tensor& values,
                         const std::vector<std::string>& names, const std::filesystem::path& image) {
  std::filesystem::create_directories(file.parent_path());
  save_safetensors(file.string(), {{"probabilities", values.to(torch::kHalf)}},
                   {{"class_names", nlohmann::json(names).dump()}, {"image", image.string()}});
}

std::vector<std::string> TaskIo::summary_lines(const Metrics&, const nlohmann::json&) const { return {}; }

ScoreReport TaskIo::score_predictions(const ScoreRequest& request) const {
  throw UsageError(fmt::format("task '{}' cannot score predictions from files (--pred/--gt); evaluate a trained "
                               "readout with --weights and --data",
                               request.task));
}

}  // namespace lidere::tasks
