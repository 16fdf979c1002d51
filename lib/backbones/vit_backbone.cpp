#include "backbones/vit_backbone.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional/normalization.h>

#include "core/errors.h"

namespace lidere::backbones {

std::vector<int> default_vit_layers(std::int64_t depth) {
  const auto d = static_cast<double>(depth);
  return {static_cast<int>(std::lround(d / 3)) - 1, static_cast<int>(std::lround(2 * d / 3)) - 1,
          static_cast<int>(depth) - 2};
}

VitBackbone::VitBackbone(LoadedVit vit, std::vector<int> layers) : vit_(std::move(vit)), layers_(std::move(layers)) {
  const auto depth = vit_.model->config().depth;
  for (auto& p : vit_.model->parameters()) p.set_requires_grad(false);  // frozen until enable_lora()
  if (layers_.empty()) layers_ = default_vit_layers(depth);
  for (int layer : layers_) {
    if (layer < 0 || layer >= depth) {
      throw UsageError(fmt::format("backbone layers: block {} does not exist (0..{})", layer, depth - 1));
    }
  }
}

std::string VitBackbone::describe() const {
  return fmt::format("{}, {}; features: final norm + blocks [{}]", vit_.model->config().describe(),
                     layout_name(vit_.layout), fmt::join(layers_, ", "));
}

std::int64_t VitBackbone::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : vit_.model->parameters()) n += p.numel();
  return n;
}

std::vector<std::pair<std::string, torch::Tensor>> VitBackbone::adapter_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : vit_.model->named_parameters()) {
    const std::string& name = item.key();
    if (name.ends_with(".lora_A") || name.ends_with(".lora_B")) out.emplace_back(name, item.value());
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> VitBackbone::trainable_parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : vit_.model->named_parameters()) {
    if (item.value().requires_grad()) out.emplace_back(item.key(), item.value());
  }
  return out;
}

FeatureShape VitBackbone::feature_shape(std::int64_t rows, std::int64_t cols) const {
  const auto p = stride();
  if (rows <= 0 || cols <= 0 || rows % p != 0 || cols % p != 0) {
    throw UsageError(fmt::format("input size {}x{} is not a multiple of the patch size {} (e.g. {}x{})", rows, cols, p,
                                 std::max<std::int64_t>(p, rows / p * p), std::max<std::int64_t>(p, cols / p * p)));
  }
  return {vit_.model->config().hidden * static_cast<std::int64_t>(1 + layers_.size()), {rows / p, cols / p}};
}

torch::Tensor VitBackbone::features(const torch::Tensor& images) {
  const FeatureShape shape = feature_shape(images.size(2), images.size(3));
  std::vector<int> taps = {-1};
  taps.insert(taps.end(), layers_.begin(), layers_.end());
  const auto streams = vit_.model->forward(imagenet_normalize(images), taps);
  const auto B = images.size(0), prefix = vit_.model->config().prefix_tokens();
  std::vector<torch::Tensor> maps;
  namespace F = torch::nn::functional;
  for (const auto& tokens : streams) {
    const torch::Tensor patches = tokens.narrow(1, prefix, shape.grid.tokens());
    const torch::Tensor map = patches.transpose(1, 2).reshape({B, -1, shape.grid.rows, shape.grid.cols});
    maps.push_back(F::normalize(map, F::NormalizeFuncOptions().p(2).dim(1)));
  }
  return torch::cat(maps, 1);
}

}  // namespace lidere::backbones
