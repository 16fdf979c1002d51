#include "backbones/torchscript_backbone.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional/normalization.h>

#include "core/errors.h"

namespace lidere::backbones {

TorchScriptBackbone::TorchScriptBackbone(const std::string& path) : path_(path) {
  try {
    module_ = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("{}: not a loadable TorchScript module ({})", path,
                                 std::string(e.what_without_backtrace()).substr(0, 200)));
  }
  module_.eval();
  for (auto p : module_.parameters()) p.set_requires_grad(false);
}

std::string TorchScriptBackbone::describe() const {
  return fmt::format("TorchScript module {} (type {})", path_, module_.type()->name()->qualifiedName());
}

std::int64_t TorchScriptBackbone::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& p : module_.parameters()) n += p.numel();
  return n;
}

std::vector<torch::Tensor> TorchScriptBackbone::weights() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : module_.parameters()) out.push_back(p);
  for (const auto& b : module_.buffers()) out.push_back(b);
  return out;
}

std::vector<torch::Tensor> TorchScriptBackbone::run(const torch::Tensor& normalized) const {
  c10::IValue output;
  try {
    output = module_.forward({normalized});
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: forward failed on input ({}): {}", path_, fmt::join(normalized.sizes(), ", "),
                                 std::string(e.what()).substr(0, 300)));
  }
  std::vector<torch::Tensor> maps;
  if (output.isTensor()) {
    maps.push_back(output.toTensor());
  } else if (output.isTensorList()) {
    for (const auto& t : output.toTensorVector()) maps.push_back(t);
  } else if (output.isTuple() || output.isList()) {
    const auto items = output.isTuple() ? output.toTupleRef().elements().vec() : output.toListRef().vec();
    for (const auto& item : items) {
      if (!item.isTensor()) throw InputError(fmt::format("{}: forward returned a non-tensor item", path_));
      maps.push_back(item.toTensor());
    }
  } else {
    throw InputError(
        fmt::format("{}: forward must return a tensor or a list/tuple of tensors, got {}", path_, output.tagKind()));
  }
  if (maps.empty()) throw InputError(fmt::format("{}: forward returned no feature map", path_));
  for (const auto& m : maps) {
    if (m.dim() != 4 || m.size(0) != normalized.size(0)) {
      throw InputError(fmt::format("{}: every output must be (B, C, h, w) with B = {}, got ({})", path_,
                                   normalized.size(0), fmt::join(m.sizes(), ", ")));
    }
  }
  return maps;
}

FeatureShape TorchScriptBackbone::feature_shape(std::int64_t rows, std::int64_t cols) const {
  const auto key = std::make_pair(rows, cols);
  const auto it = shapes_.find(key);
  if (it != shapes_.end()) return it->second;
  torch::NoGradGuard no_grad;
  const auto maps = run(torch::zeros({1, 3, rows, cols}, torch::TensorOptions().device(device_)));
  FeatureShape shape{0, {maps[0].size(2), maps[0].size(3)}};
  for (const auto& m : maps) shape.channels += m.size(1);
  if (rows % shape.grid.rows != 0 || cols % shape.grid.cols != 0 || rows / shape.grid.rows != cols / shape.grid.cols) {
    throw UsageError(
        fmt::format("{}: input {}x{} gives a {}x{} grid, not an integer stride; choose a size the model "
                    "divides evenly",
                    path_, rows, cols, shape.grid.rows, shape.grid.cols));
  }
  return shapes_[key] = shape;
}

std::int64_t TorchScriptBackbone::stride() const {
  return kProbeSize / feature_shape(kProbeSize, kProbeSize).grid.rows;
}

torch::Tensor TorchScriptBackbone::features(const torch::Tensor& images) {
  const auto maps = run(imagenet_normalize(images));
  const auto rows = maps[0].size(2), cols = maps[0].size(3);
  namespace F = torch::nn::functional;
  std::vector<torch::Tensor> normalized;
  for (const auto& m : maps) {
    const torch::Tensor on_grid =
        m.size(2) == rows && m.size(3) == cols ? m : at::upsample_bilinear2d(m, {rows, cols}, /*align_corners=*/false);
    normalized.push_back(F::normalize(on_grid.to(torch::kFloat32), F::NormalizeFuncOptions().p(2).dim(1)));
  }
  return torch::cat(normalized, 1);
}

}  // namespace lidere::backbones
