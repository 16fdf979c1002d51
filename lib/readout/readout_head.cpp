#include "readout/readout_head.h"

#include <ATen/ATen.h>

#include "core/errors.h"
#include "readout/lidere_model.h"

namespace lidere::readout {

ReadoutKind parse_readout_kind(const std::string& name) {
  if (name == "lidere") return ReadoutKind::kLiDeRe;
  if (name == "linear") return ReadoutKind::kLinear;
  throw UsageError("unknown readout '" + name + "' (use lidere or linear)");
}

std::string readout_kind_name(ReadoutKind kind) { return kind == ReadoutKind::kLiDeRe ? "lidere" : "linear"; }

LinearReadoutImpl::LinearReadoutImpl(const ReadoutConfig& config) : config_(config) {
  proj_ = register_module("proj", Conv(config.feature_channels, config.classes, 1, /*time_axis=*/false));
  if (config.out_bias != 0.0) {
    torch::NoGradGuard no_grad;
    proj_->bias.add_(config.out_bias);
  }
}

torch::Tensor LinearReadoutImpl::forward(const torch::Tensor& features) {
  const torch::Tensor x = features.dim() == 5 ? features.squeeze(2) : features;
  const std::int64_t f = config_.upsample_factor();
  // The output grid follows the features' own size, so any input size the backbone accepts works.
  const std::int64_t rows = x.size(2) * config_.base_grid.rows / config_.feature_grid.rows * f;
  const std::int64_t cols = x.size(3) * config_.base_grid.cols / config_.feature_grid.cols * f;
  return at::upsample_bilinear2d(proj_->forward(x), {rows, cols}, /*align_corners=*/false);
}

ReadoutHead::ReadoutHead(ReadoutKind kind, const ReadoutConfig& config) : kind_(kind), config_(config) {
  config_.validate();
  if (kind == ReadoutKind::kLiDeRe) {
    module_ = LiDeRe(config_).ptr();
  } else {
    module_ = LinearReadout(config_).ptr();
  }
}

void ReadoutHead::set_interp_backend(ops::InterpBackend backend) {
  if (kind_ != ReadoutKind::kLiDeRe) return;
  InterpolationLayer layer = std::static_pointer_cast<LiDeReImpl>(module_)->interpolation();
  layer->backend = backend;
  layer->implicit_net->use_fused_kernel = backend != ops::InterpBackend::kReference;  // reference: ATen throughout
}

torch::Tensor ReadoutHead::forward(const torch::Tensor& features) {
  if (kind_ == ReadoutKind::kLiDeRe) return std::static_pointer_cast<LiDeReImpl>(module_)->forward(features).squeeze(2);
  return std::static_pointer_cast<LinearReadoutImpl>(module_)->forward(features);
}

void ReadoutHead::to(torch::Device device) {
  if (kind_ == ReadoutKind::kLiDeRe) {
    std::static_pointer_cast<LiDeReImpl>(module_)->to_device(device, torch::kFloat);
  } else {
    module_->to(device);
  }
}

}  // namespace lidere::readout
