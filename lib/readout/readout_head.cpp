#include "readout/readout_head.h"

#include <ATen/ATen.h>

#include "core/errors.h"
#include "readout/lidere_model.h"

namespace lidere::readout {
namespace {

// Linear probes for several heads, named as the multi-head readout names its heads
// (heads.<name>.proj.*, embed_proj.*).
class LinearMultiImpl : public torch::nn::Module {
 public:
  LinearMultiImpl(const ReadoutConfig& config, const HeadLayout& layout) : layout_(layout) {
    std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> named;
    for (const auto& h : layout.heads) {
      ReadoutConfig c = config;
      c.classes = h.channels;
      c.out_bias = h.out_bias;
      LinearReadout head(c);
      heads_.emplace(h.name, head);
      named.emplace_back(h.name, head.ptr());
    }
    register_module("heads", torch::nn::ModuleDict(named));
    if (layout.embedding) {
      const auto& e = *layout.embedding;
      std::int64_t source_channels = 0;
      for (const auto& h : layout.heads)
        if (h.name == e.source) source_channels = h.channels;
      embed_proj_ = register_module("embed_proj", torch::nn::Linear(source_channels, e.channels));
    }
  }

  Outputs forward(const torch::Tensor& features) {
    Outputs out;
    for (auto& [name, head] : heads_) out[name] = head->forward(features);
    if (embed_proj_) {
      const auto& e = *layout_.embedding;
      out[e.name] = embed_proj_->forward(out.at(e.source).permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
    }
    return out;
  }

 private:
  HeadLayout layout_;
  std::map<std::string, LinearReadout> heads_;
  torch::nn::Linear embed_proj_{nullptr};
};

HeadLayout single_head(const ReadoutConfig& config) { return {{{"logits", config.classes, config.out_bias}}, {}}; }

}  // namespace

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

ReadoutHead::ReadoutHead(ReadoutKind kind, const ReadoutConfig& config) : ReadoutHead(kind, config, single_head(config)) {}

ReadoutHead::ReadoutHead(ReadoutKind kind, const ReadoutConfig& config, HeadLayout layout)
    : kind_(kind), config_(config), layout_(std::move(layout)) {
  layout_.validate();
  if (layout_.single()) {
    config_.classes = layout_.heads[0].channels;
    config_.out_bias = layout_.heads[0].out_bias;
  }
  config_.validate();
  if (layout_.single()) {
    if (kind == ReadoutKind::kLiDeRe) {
      module_ = LiDeRe(config_).ptr();
    } else {
      module_ = LinearReadout(config_).ptr();
    }
    return;
  }
  if (kind == ReadoutKind::kLinear) {
    module_ = std::make_shared<LinearMultiImpl>(config_, layout_);
    return;
  }
  MultiHeadConfig multi;
  multi.base = config_;
  for (const auto& h : layout_.heads) {
    multi.outputs.emplace_back(h.name, h.channels);
    multi.out_bias.push_back(h.out_bias);
  }
  if (layout_.embedding) {
    for (const auto& h : layout_.heads)
      if (h.name == layout_.embedding->source) multi.embed_in = h.channels;
    multi.embed_out = layout_.embedding->channels;
    multi.embed_source = layout_.embedding->source;
    multi.embed_name = layout_.embedding->name;
  }
  module_ = LiDeReMulti(multi).ptr();
}

void ReadoutHead::set_interp_backend(ops::InterpBackend backend) {
  if (kind_ != ReadoutKind::kLiDeRe) return;
  const auto set = [backend](const LiDeReImpl& head) {
    InterpolationLayer layer = head.interpolation();
    layer->backend = backend;
    layer->implicit_net->use_fused_kernel = backend != ops::InterpBackend::kReference;  // reference: ATen throughout
  };
  if (layout_.single()) {
    set(*std::static_pointer_cast<LiDeReImpl>(module_));
    return;
  }
  const auto multi = std::static_pointer_cast<LiDeReMultiImpl>(module_);
  for (const auto& h : layout_.heads) set(*multi->head(h.name));
}

Outputs ReadoutHead::forward(const torch::Tensor& features) {
  if (layout_.single()) {
    const std::string& name = layout_.heads[0].name;
    if (kind_ == ReadoutKind::kLiDeRe)
      return {{name, std::static_pointer_cast<LiDeReImpl>(module_)->forward(features).squeeze(2)}};
    return {{name, std::static_pointer_cast<LinearReadoutImpl>(module_)->forward(features)}};
  }
  if (kind_ == ReadoutKind::kLinear) return std::static_pointer_cast<LinearMultiImpl>(module_)->forward(features);
  Outputs outputs = std::static_pointer_cast<LiDeReMultiImpl>(module_)->forward(features);
  for (auto& [name, tensor] : outputs) {
    // Heads come as the official (B, C, 1, H, W), the embedding as (B, H, W, C).
    tensor = layout_.embedding && name == layout_.embedding->name ? tensor.permute({0, 3, 1, 2}) : tensor.squeeze(2);
  }
  return outputs;
}

void ReadoutHead::to(torch::Device device) {
  if (kind_ == ReadoutKind::kLinear) {
    module_->to(device);
  } else if (layout_.single()) {
    std::static_pointer_cast<LiDeReImpl>(module_)->to_device(device, torch::kFloat);
  } else {
    std::static_pointer_cast<LiDeReMultiImpl>(module_)->to_device(device, torch::kFloat);
  }
}

}  // namespace lidere::readout
