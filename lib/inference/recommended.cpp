#include "inference/recommended.h"

#include "backbones/registry.h"
#include "tasks/registry.h"

namespace lidere::inference {

nlohmann::json recommended_settings(const std::string& task, const std::string& backbone, bool adapters) {
  const tasks::TaskEntry& entry = tasks::task_entry(task);
  nlohmann::json settings = entry.training_defaults ? entry.training_defaults() : nlohmann::json::object();
  const std::vector<std::int64_t> imgsz = backbones::recommended_imgsz(backbone);
  if (!imgsz.empty()) settings["imgsz"] = imgsz;
  if (adapters) settings["lora_lr"] = kRecommendedLoraLr;
  return settings;
}

}  // namespace lidere::inference
