#include "tasks/task.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

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

}  // namespace lidere::tasks
