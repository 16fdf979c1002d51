#include "tasks/task.h"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace lidere::tasks {

double Metrics::at(const std::string& name) const {
  for (const auto& [key, value] : values) {
    if (key == name) return value;
  }
  throw std::out_of_range("no metric " + name);
}

nlohmann::json Metrics::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : values) out[key] = value;
  return out;
}

Tiling make_tiling(std::int64_t size, std::int64_t overlap) {
  if (size < 0) throw UsageError("--tile must be 0 (whole image) or a tile size in pixels");
  const Tiling t{size, overlap >= 0 ? overlap : size / 5};
  if (size > 0 && (t.overlap < 0 || t.overlap >= t.size)) {
    throw UsageError(
        fmt::format("tiles of {} px with {} px overlap: the overlap must be in [0, size)", t.size, t.overlap));
  }
  return t;
}

std::vector<std::string> Evaluator::write_files(const std::string&) const { return {}; }

}  // namespace lidere::tasks
