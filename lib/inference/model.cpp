#include "inference/model.h"

#include <filesystem>

#include <fmt/format.h>
#include <torch/cuda.h>

#include "backbones/feature_cache.h"
#include "backbones/registry.h"
#include "core/errors.h"
#include "tasks/registry.h"

namespace lidere::inference {

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::kCPU;
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw UsageError(fmt::format("--device {}: this machine has no usable CUDA GPU", text));
    const torch::Device device(text);
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
      throw UsageError(fmt::format("--device {}: there are only {} CUDA devices", text, torch::cuda::device_count()));
    }
    return device;
  }
  throw UsageError(fmt::format("--device '{}': use cpu, cuda or cuda:N", text));
}

FeatureFunction feature_function(backbones::Backbone& backbone, std::int64_t rows, std::int64_t cols) {
  return [&backbone, rows, cols](const torch::Tensor& images) {
    return backbones::extract_features(backbone, images, rows, cols);
  };
}

readout::ReadoutConfig readout_config_for(const backbones::Backbone& backbone, std::int64_t rows, std::int64_t cols,
                                          std::int64_t dim, std::int64_t heads,
                                          const std::vector<std::int64_t>& base_grid) {
  const backbones::FeatureShape shape = backbone.feature_shape(rows, cols);
  if (base_grid.empty() && (rows < 8 || cols < 8)) {
    throw UsageError(fmt::format("imgsz {}x{}: the readout's target grid is input / 8, so the input needs at least 8 "
                                 "pixels each way (or set base_grid)",
                                 rows, cols));
  }
  if (!base_grid.empty() && base_grid.size() != 2) {
    throw UsageError(fmt::format("base_grid: expected [rows, cols], got {} values", base_grid.size()));
  }
  readout::ReadoutConfig config;
  config.feature_channels = shape.channels;
  config.feature_grid = shape.grid;
  config.base_grid = base_grid.empty() ? GridSize{rows / 8, cols / 8} : GridSize{base_grid[0], base_grid[1]};
  config.dim = dim;
  config.heads = heads;
  config.validate();
  return config;
}

std::unique_ptr<backbones::Backbone> with_feature_cache(std::unique_ptr<backbones::Backbone> backbone,
                                                        const std::string& setting, bool reusable_features,
                                                        const std::string& dir, bool* cached) {
  const bool use = backbone->trainable_parameters().empty() && backbone->adapter_parameters().empty() &&
                   (setting == "on" || (setting == "auto" && reusable_features));
  if (cached) *cached = use;
  if (!use) return backbone;
  return std::make_unique<backbones::CachedBackbone>(std::move(backbone), dir);
}

std::string resolve_weights(const std::string& weights_or_run) {
  namespace fs = std::filesystem;
  if (fs::is_directory(weights_or_run)) {
    const fs::path best = fs::path(weights_or_run) / "weights" / "best.safetensors";
    if (!fs::is_regular_file(best))
      throw InputError(fmt::format("{}: no weights/best.safetensors in this run folder", weights_or_run));
    return best.string();
  }
  if (!fs::exists(weights_or_run))
    throw InputError(fmt::format("{}: no such checkpoint file or run folder", weights_or_run));
  return weights_or_run;
}

nlohmann::json describe_backbone(const backbones::Backbone& backbone, const std::string& spec,
                                 const std::vector<int>& layers, const nlohmann::json& adapters) {
  nlohmann::json d = {{"spec", spec},
                      {"layers", layers},
                      {"description", backbone.describe()},
                      {"fingerprint", backbones::backbone_fingerprint(backbone)}};
  if (!adapters.is_null()) d["adapters"] = adapters;
  return d;
}

namespace {

// A backbone's trained parts (LoRA adapters) from a checkpoint: added as the checkpoint describes
// them, then every tensor loaded by name.
void load_adapters(backbones::Backbone& backbone, const Checkpoint& checkpoint, const std::string& path) {
  const nlohmann::json& adapters = checkpoint.meta.at("backbone").at("adapters");
  if (adapters.at("kind").get<std::string>() != "lora") {
    throw InputError(fmt::format("{}: unknown backbone adapters '{}'", path, adapters.at("kind").dump()));
  }
  backbone.enable_lora(adapters.at("rank").get<std::int64_t>(), adapters.at("alpha").get<double>());
  torch::NoGradGuard no_grad;
  std::size_t loaded = 0;
  for (auto& [name, parameter] : backbone.adapter_parameters()) {
    const auto it = checkpoint.backbone.find(name);
    if (it == checkpoint.backbone.end() || it->second.sizes() != parameter.sizes()) {
      throw InputError(fmt::format("{}: backbone adapter '{}' is missing or has another shape", path, name));
    }
    parameter.copy_(it->second);
    parameter.set_requires_grad(false);
    ++loaded;
  }
  if (loaded != checkpoint.backbone.size()) {
    throw InputError(fmt::format("{}: the checkpoint holds {} backbone tensors, the backbone takes {}", path,
                                 checkpoint.backbone.size(), loaded));
  }
}

}  // namespace

std::string checkpoint_task(const Checkpoint& checkpoint, const std::string& path) {
  const nlohmann::json& meta = checkpoint.meta;
  if (!meta.contains("task") || !meta["task"].is_object() || !meta["task"].contains("task") ||
      !meta["task"]["task"].is_string()) {
    throw InputError(fmt::format("{}: the checkpoint does not say which task it was trained for", path));
  }
  return meta["task"]["task"].get<std::string>();
}

TrainedModel load_trained_model(const std::string& weights_or_run, const std::string& device,
                                const std::string& backbone, const nlohmann::json& task_options) {
  const std::string path = resolve_weights(weights_or_run);
  return open_trained_model(path, load_checkpoint(path), device, backbone, task_options);
}

TrainedModel open_trained_model(const std::string& path, Checkpoint checkpoint, const std::string& device,
                                const std::string& backbone, const nlohmann::json& task_options) {
  TrainedModel model;
  model.path = path;
  model.checkpoint = std::move(checkpoint);
  const nlohmann::json& meta = model.checkpoint.meta;
  try {
    model.task = tasks::make_task(tasks::description_for_run(meta.at("task"), task_options));
    model.rows = meta.at("imgsz").at(0).get<std::int64_t>();
    model.cols = meta.at("imgsz").at(1).get<std::int64_t>();
    const std::string spec = backbone.empty() ? meta.at("backbone").at("spec").get<std::string>() : backbone;
    model.backbone = backbones::open_backbone(spec, meta.at("backbone").value("layers", std::vector<int>{}));
    if (!model.checkpoint.backbone.empty()) load_adapters(*model.backbone, model.checkpoint, model.path);
    const std::string expected = meta.at("backbone").at("fingerprint").get<std::string>();
    if (backbones::backbone_fingerprint(*model.backbone) != expected) {
      throw InputError(
          fmt::format("{}: this checkpoint was trained on other backbone weights ({}) than {} gives; "
                      "pass the original with --backbone",
                      model.path, meta.at("backbone").value("description", std::string("?")), spec));
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: the checkpoint description is incomplete: {}", model.path, e.what()));
  }
  const readout::HeadLayout heads = model.task->heads();
  model.readout =
      std::make_unique<readout::ReadoutHead>(readout_from_checkpoint(model.checkpoint, model.path, &heads));
  model.device = parse_device(device);
  model.backbone->to(model.device);
  model.readout->to(model.device);
  model.readout->module().eval();
  return model;
}

}  // namespace lidere::inference
