#include "readout/lidere_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"

namespace lidere::readout {

FeatureProjectionImpl::FeatureProjectionImpl(std::int64_t in_channels, std::int64_t dim) {
  proj = register_module("proj", Indexed());
  conv_ = proj->add(0, Conv(in_channels, dim, 1, /*time_axis=*/false));
}

torch::Tensor FeatureProjectionImpl::forward(const torch::Tensor& features) {
  return conv_->forward(features);
}

LiDeReImpl::LiDeReImpl(const ReadoutConfig& config) : config_(config) {
  config_.validate();
  layers = register_module("layers", torch::nn::ModuleList());
  projection_ = FeatureProjection(config.feature_channels, config.dim);
  interpolation_ = InterpolationLayer(config);
  layers->push_back(projection_);
  layers->push_back(interpolation_);
  mlp = register_module("mlp", UpsampleCnn(config));
}

torch::Tensor LiDeReImpl::project(const torch::Tensor& features) {
  torch::Tensor x = features;
  if (x.dim() == 5) {
    if (x.size(2) != 1) {
      throw UsageError(fmt::format("LiDeRe: features must have time extent 1, got ({})",
                                   fmt::join(x.sizes(), ", ")));
    }
    x = x.squeeze(2);
  }
  if (x.dim() != 4 || x.size(1) != config_.feature_channels ||
      x.size(2) != config_.feature_grid.rows || x.size(3) != config_.feature_grid.cols) {
    throw UsageError(fmt::format(
        "LiDeRe: expected features (B, {}, 1, {}, {}) for this readout, got ({})",
        config_.feature_channels, config_.feature_grid.rows, config_.feature_grid.cols,
        fmt::join(features.sizes(), ", ")));
  }
  return feature_projection()->forward(x);
}

torch::Tensor LiDeReImpl::forward(const torch::Tensor& features) {
  const torch::Tensor projected = project(features);
  const torch::Tensor tokens = interpolation()->forward(projected);  // (B, T, dim)
  const auto B = tokens.size(0);
  const torch::Tensor base_map =
      tokens.permute({0, 2, 1}).reshape({B, config_.dim, config_.base_grid.rows, config_.base_grid.cols});
  return mlp->forward(base_map);
}

void LiDeReImpl::to_device(torch::Device device, torch::ScalarType dtype) {
  to(device, dtype);
  interpolation()->rebuild_fixed_encodings();
}

LiDeReMultiImpl::LiDeReMultiImpl(MultiHeadConfig config) : config_(std::move(config)) {
  if (config_.outputs.empty()) throw UsageError("multi-head readout: no outputs given");
  if (!config_.out_bias.empty() && config_.out_bias.size() != config_.outputs.size()) {
    throw UsageError(fmt::format("multi-head readout: {} out_bias values for {} outputs",
                                 config_.out_bias.size(), config_.outputs.size()));
  }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> named_heads;
  for (std::size_t i = 0; i < config_.outputs.size(); ++i) {
    ReadoutConfig head_config = config_.base;
    head_config.classes = config_.outputs[i].second;
    head_config.out_bias = config_.out_bias.empty() ? 0.0 : config_.out_bias[i];
    LiDeRe head_module(head_config);
    const auto& name = config_.outputs[i].first;
    if (!head_modules_.emplace(name, head_module).second) {
      throw UsageError(fmt::format("multi-head readout: output '{}' given twice", name));
    }
    named_heads.emplace_back(name, head_module.ptr());
  }
  heads = register_module("heads", torch::nn::ModuleDict(named_heads));
  if (config_.embed_in > 0) {
    embed_proj = register_module("embed_proj", torch::nn::Linear(config_.embed_in, config_.embed_out));
  }
}

std::map<std::string, torch::Tensor> LiDeReMultiImpl::forward(const torch::Tensor& features) {
  std::map<std::string, torch::Tensor> outputs;
  for (const auto& [name, channels] : config_.outputs) {
    outputs[name] = head(name)->forward(features);
  }
  if (embed_proj) {
    const auto it = outputs.find(config_.embed_source);
    if (it == outputs.end()) {
      throw UsageError(fmt::format("multi-head readout: embed_proj reads output '{}', which does "
                                   "not exist", config_.embed_source));
    }
    outputs[config_.embed_name] = embed_proj->forward(it->second.select(2, 0).permute({0, 2, 3, 1}));
  }
  return outputs;
}

void LiDeReMultiImpl::to_device(torch::Device device, torch::ScalarType dtype) {
  to(device, dtype);
  for (auto& [name, head_module] : head_modules_) head_module->interpolation()->rebuild_fixed_encodings();
}

LiDeRe LiDeReMultiImpl::head(const std::string& name) const {
  const auto it = head_modules_.find(name);
  if (it == head_modules_.end()) throw UsageError(fmt::format("multi-head readout: no output named '{}'", name));
  return it->second;
}

}  // namespace lidere::readout
