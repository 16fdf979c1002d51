// The LiDeRe readout (official LiDeRe.forward_feats) and its multi-head variant (LiDeReMulti,
// the CenterNet-style model). Parameter names equal the official state-dict keys, so an
// official checkpoint loads by name (see weights.h).
//
//   features (B, C, 1, Hf, Wf) --gamma 1x1--> (B, dim, Hf, Wf)          layers.0
//     --interpolation layer--> (B, T, dim) on the base grid               layers.1
//     --CNN upsampler--> (B, classes, 1, Hb*4, Wb*4)                      mlp
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/moduledict.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "readout/config.h"
#include "readout/conv_params.h"
#include "readout/interpolation_layer.h"
#include "readout/upsample_cnn.h"

namespace lidere::readout {

// gamma: a 1x1 convolution from the backbone's C channels to dim (official LayerFeatureMLP with
// no hidden layers: parameters proj.0.weight (dim, C, 1, 1) and proj.0.bias).
class FeatureProjectionImpl : public torch::nn::Module {
 public:
  FeatureProjectionImpl(std::int64_t in_channels, std::int64_t dim);
  torch::Tensor forward(const torch::Tensor& features);  // (B, C, Hf, Wf) -> (B, dim, Hf, Wf)

  Indexed proj;

 private:
  Conv conv_{nullptr};
};
TORCH_MODULE(FeatureProjection);

class LiDeReImpl : public torch::nn::Module {
 public:
  explicit LiDeReImpl(const ReadoutConfig& config);

  // features: (B, C, 1, Hf, Wf) as the official model takes them, or (B, C, Hf, Wf).
  // Returns (B, classes, 1, Hb * F, Wb * F).
  torch::Tensor forward(const torch::Tensor& features);

  // The projected features (B, dim, Hf, Wf) that the interpolation layer consumes.
  torch::Tensor project(const torch::Tensor& features);

  const ReadoutConfig& config() const { return config_; }
  FeatureProjection feature_projection() const { return projection_; }
  InterpolationLayer interpolation() const { return interpolation_; }

  // Moves to a device and dtype, rebuilding the fixed encodings in the new dtype.
  void to_device(torch::Device device, torch::ScalarType dtype);

  torch::nn::ModuleList layers;  // official names: layers.0 = gamma, layers.1 = interpolation
  UpsampleCnn mlp{nullptr};

 private:
  ReadoutConfig config_;
  FeatureProjection projection_{nullptr};
  InterpolationLayer interpolation_{nullptr};
};
TORCH_MODULE(LiDeRe);

// One full LiDeRe head per output (each with its own gamma) plus an optional shared linear map
// embed_proj applied per pixel to one head's output (CenterNet class embeddings -> logits).
struct MultiHeadConfig {
  ReadoutConfig base;  // every field but classes and out_bias is shared by the heads
  std::vector<std::pair<std::string, std::int64_t>> outputs;  // (name, channels), in order
  std::vector<double> out_bias;                               // one per output
  std::int64_t embed_in = 0, embed_out = 0;                   // 0: no embed_proj
  std::string embed_source = "class_embeddings";              // head fed to embed_proj
  std::string embed_name = "class_logits";                    // its output
};

class LiDeReMultiImpl : public torch::nn::Module {
 public:
  explicit LiDeReMultiImpl(MultiHeadConfig config);

  // name -> (B, channels, 1, H, W) per head; plus embed_name ("class_logits", (B, H, W,
  // embed_out)) when embed_proj exists.
  std::map<std::string, torch::Tensor> forward(const torch::Tensor& features);

  void to_device(torch::Device device, torch::ScalarType dtype);
  const MultiHeadConfig& config() const { return config_; }
  // The head of one output; throws UsageError for an unknown name.
  LiDeRe head(const std::string& name) const;

  torch::nn::ModuleDict heads;
  torch::nn::Linear embed_proj{nullptr};

 private:
  MultiHeadConfig config_;
  std::map<std::string, LiDeRe> head_modules_;
};
TORCH_MODULE(LiDeReMulti);

}  // namespace lidere::readout
