#include "train/train_config.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "ops/interp_attention.h"

namespace lidere::train {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, task, task_options, data, train_split, val_split,
                                                backbone, layers, lora_rank, lora_alpha, lora_lr, activation_checkpointing, readout, imgsz, dim,
                                                heads, base_grid, iterations, epochs,
                                                batch, lr, weight_decay, warmup, schedule, amp, augment, up_factor,
                                                p_blur, rotation, workers, cache, cache_dir, interp, val_every,
                                                save_every, val_images, seed, device, project, name)

nlohmann::json to_json(const TrainConfig& config) {
  nlohmann::json j;
  nlohmann::to_json(j, config);
  return j;
}

namespace {

// imgsz (and base_grid) accept 512, [288, 384] and "288x384".
nlohmann::json normalise_imgsz(const nlohmann::json& value) {
  if (value.is_number_integer()) return {value.get<std::int64_t>(), value.get<std::int64_t>()};
  if (value.is_string()) {
    const auto text = value.get<std::string>();
    const auto x = text.find('x');
    try {
      if (x == std::string::npos) return normalise_imgsz(std::stoll(text));
      return {std::stoll(text.substr(0, x)), std::stoll(text.substr(x + 1))};
    } catch (const std::exception&) {
      throw UsageError(fmt::format("imgsz '{}' is not a size (e.g. 512 or 288x384)", text));
    }
  }
  return value;
}

// Settings that became task options when tasks got their own (version 0.2).
constexpr const char* kMovedToTasks[] = {"ignore_index", "balanced", "val_thresholds"};

}  // namespace

TrainConfig config_from_json(const nlohmann::json& json, const std::vector<std::string>& task_keys) {
  if (!json.is_object()) throw UsageError("configuration: expected a JSON object");
  nlohmann::json j = json;
  for (const char* size : {"imgsz", "base_grid"}) {
    if (j.contains(size)) j[size] = normalise_imgsz(j[size]);
  }
  const nlohmann::json known = to_json(TrainConfig{});
  for (const auto& [key, value] : json.items()) {
    if (known.contains(key)) continue;
    const bool moved = std::find(std::begin(kMovedToTasks), std::end(kMovedToTasks), key) != std::end(kMovedToTasks);
    if (!moved) {
      std::vector<std::string> keys;
      for (const auto& item : known.items()) keys.push_back(item.key());
      throw UsageError(fmt::format("configuration: no setting '{}' (settings: {})", key, fmt::join(keys, ", ")));
    }
    if (std::find(task_keys.begin(), task_keys.end(), key) != task_keys.end()) {
      if (!j.contains("task_options")) j["task_options"] = nlohmann::json::object();
      if (!j["task_options"].contains(key)) j["task_options"][key] = value;
    }
    j.erase(key);
  }
  TrainConfig config;
  try {
    nlohmann::from_json(j, config);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("configuration: {}", e.what()));
  }
  return config;
}

void apply_overrides(TrainConfig& config, const std::vector<std::string>& assignments,
                     std::vector<std::string>* unclaimed) {
  nlohmann::json j = to_json(config);
  for (const auto& assignment : assignments) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos) throw UsageError(fmt::format("--set '{}': expected key=value", assignment));
    const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
    if (!j.contains(key) || key == "task_options") {
      if (unclaimed) {
        unclaimed->push_back(assignment);
        continue;
      }
      std::vector<std::string> keys;
      for (const auto& item : j.items()) keys.push_back(item.key());
      throw UsageError(fmt::format("--set {}: no such setting (settings: {}; a task's options: task.KEY=VALUE)", key,
                                   fmt::join(keys, ", ")));
    }
    // JSON if it parses (numbers, booleans, lists), else the text itself.
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;
    if (key == "imgsz" || key == "base_grid") value = normalise_imgsz(value);
    if (j[key].is_string() && !value.is_string()) value = text;  // e.g. name=2024
    const auto kind = [](const nlohmann::json& v) {
      return v.is_number() ? std::string("number") : std::string(v.type_name());
    };
    if (kind(j[key]) != kind(value)) {
      throw UsageError(fmt::format("--set {}: expected a {}, got '{}'", key, kind(j[key]), text));
    }
    j[key] = value;
  }
  config = config_from_json(j);
}

void TrainConfig::validate() const {
  const auto positive = [](std::int64_t v, const char* name) {
    if (v <= 0) throw UsageError(fmt::format("{} must be positive (got {})", name, v));
  };
  if (imgsz.size() != 2) throw UsageError("imgsz must be one size or rows x cols");
  positive(imgsz[0], "imgsz");
  positive(imgsz[1], "imgsz");
  positive(iterations, "iterations");
  positive(batch, "batch");
  positive(val_every, "val_every");
  if (epochs < 0 || save_every < 0 || val_images < 0 || warmup < 0 || workers < 0) {
    throw UsageError("epochs, save_every, val_images, warmup and workers cannot be negative");
  }
  if (!task_options.is_object()) throw UsageError("task_options must be a JSON object");
  if (!(lr > 0)) throw UsageError(fmt::format("lr must be positive (got {})", lr));
  if (weight_decay < 0) throw UsageError("weight_decay cannot be negative");
  if (lora_rank < 0) throw UsageError(fmt::format("lora_rank cannot be negative (got {}; 0 trains no adapters)", lora_rank));
  if (!(lora_alpha > 0)) throw UsageError(fmt::format("lora_alpha must be positive (got {})", lora_alpha));
  if (lora_lr < 0) throw UsageError(fmt::format("lora_lr cannot be negative (got {}; 0 = lr)", lora_lr));
  if (lora_lr > 0 && lora_rank == 0) throw UsageError("lora_lr is the adapters' learning rate: set lora_rank too");
  if (activation_checkpointing && lora_rank == 0) {
    throw UsageError("activation_checkpointing saves memory only while the backbone trains: set lora_rank too");
  }
  if (!base_grid.empty() && (base_grid.size() != 2 || base_grid[0] <= 0 || base_grid[1] <= 0)) {
    throw UsageError(fmt::format("base_grid must be [rows, cols], both positive (got [{}]); [] = input / 8",
                                 fmt::join(base_grid, ", ")));
  }
  if (augment != "standard" && augment != "hflip" && augment != "none") {
    throw UsageError(fmt::format("augment '{}': use standard, hflip or none", augment));
  }
  if (cache != "auto" && cache != "on" && cache != "off")
    throw UsageError(fmt::format("cache '{}': use auto, on or off", cache));
  if (schedule != "cosine" && schedule != "constant")
    throw UsageError(fmt::format("schedule '{}': use cosine or constant", schedule));
  if (up_factor < 1.0) throw UsageError("up_factor must be at least 1");
  if (rotation < 0 || rotation > 180) throw UsageError("rotation must be in [0, 180] degrees");
  ops::parse_interp_backend(interp);  // throws UsageError naming the choices
}

}  // namespace lidere::train
