#include "apps/lidere/pipeline.h"

#include <filesystem>

#include <fmt/format.h>

#include "backbones/feature_cache.h"
#include "backbones/registry.h"
#include "core/errors.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/registry.h"

namespace lidere::cli {

train::ProgressMode progress_mode(bool quiet) {
  return quiet ? train::ProgressMode::kQuiet : train::ProgressMode::kAuto;
}

readout::ReadoutConfig readout_config_for(const backbones::Backbone& backbone, std::int64_t rows, std::int64_t cols,
                                          std::int64_t dim, std::int64_t heads, const tasks::Task& task) {
  const backbones::FeatureShape shape = backbone.feature_shape(rows, cols);
  if (rows % 8 != 0 || cols % 8 != 0) {
    throw UsageError(
        fmt::format("imgsz {}x{}: the readout needs multiples of 8 (its target grid is input / 8)", rows, cols));
  }
  readout::ReadoutConfig config;
  config.feature_channels = shape.channels;
  config.feature_grid = shape.grid;
  config.base_grid = {rows / 8, cols / 8};
  config.dim = dim;
  config.heads = heads;
  config.classes = task.output_channels();
  config.out_bias = task.out_bias();
  config.validate();
  return config;
}

train::FeatureFunction feature_function(backbones::Backbone& backbone, std::int64_t rows, std::int64_t cols) {
  return [&backbone, rows, cols](const torch::Tensor& images) {
    return backbones::extract_features(backbone, images, rows, cols);
  };
}

torch::Tensor predict_boundary_probabilities(TrainedModel& model, const train::FeatureFunction& features,
                                             const torch::Tensor& image, const tasks::boundary::TileSettings& tiles,
                                             std::int64_t batch) {
  torch::NoGradGuard no_grad;
  // Probabilities of images (N, 3, h, w) at their own size (N, h, w).
  const auto probabilities = [&](const torch::Tensor& images) {
    const torch::Tensor logits = model.readout->forward(features(images.to(model.device))).to(torch::kFloat).cpu();
    std::vector<torch::Tensor> maps;
    for (std::int64_t i = 0; i < logits.size(0); ++i) {
      maps.push_back(tasks::boundary_probabilities(logits[i], images.size(2), images.size(3)));
    }
    return torch::stack(maps);
  };
  return tiles.size > 0 ? tasks::boundary::predict_tiled(image, tiles, probabilities, batch)
                        : probabilities(image.unsqueeze(0))[0];
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

TrainedModel load_trained_model(const std::string& weights_or_run, const std::string& device,
                                const std::string& backbone) {
  TrainedModel model;
  model.path = resolve_weights(weights_or_run);
  model.checkpoint = train::load_checkpoint(model.path);
  const nlohmann::json& meta = model.checkpoint.meta;
  try {
    model.task = tasks::make_task(meta.at("task"));
    model.rows = meta.at("imgsz").at(0).get<std::int64_t>();
    model.cols = meta.at("imgsz").at(1).get<std::int64_t>();
    const std::string spec = backbone.empty() ? meta.at("backbone").at("spec").get<std::string>() : backbone;
    model.backbone = backbones::open_backbone(spec, meta.at("backbone").value("layers", std::vector<int>{}));
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
  model.readout = std::make_unique<readout::ReadoutHead>(train::readout_from_checkpoint(model.checkpoint, model.path));
  model.device = train::parse_device(device);
  model.backbone->to(model.device);
  model.readout->to(model.device);
  model.readout->module().eval();
  return model;
}

}  // namespace lidere::cli
