// Features of a DINOv2/DINOv3 ViT exactly as the official TimmBackbone builds them
// (method.md 2.1): ImageNet normalisation, the final-norm output plus the raw outputs of some
// blocks ([3, 7, 10] for 12 blocks), prefix tokens dropped, each token L2-normalised per layer,
// concatenated as [final, blocks...] along channels.
#pragma once

#include <vector>

#include "backbones/backbone.h"
#include "backbones/vit_loader.h"

namespace lidere::backbones {

// The official default blocks for 12-block models ([3, 7, 10]) and the same relative depths for
// others: round(depth/3) - 1, round(2 depth/3) - 1, depth - 2.
std::vector<int> default_vit_layers(std::int64_t depth);

class VitBackbone : public Backbone {
 public:
  // `layers`: block indices to concatenate after the final output; empty = default_vit_layers.
  VitBackbone(LoadedVit vit, std::vector<int> layers = {});

  std::string describe() const override;
  std::int64_t parameter_count() const override;
  std::int64_t stride() const override { return vit_.model->config().patch; }
  FeatureShape feature_shape(std::int64_t rows, std::int64_t cols) const override;
  torch::Tensor features(const torch::Tensor& images) override;
  std::vector<torch::Tensor> weights() const override { return module_weights(*vit_.model); }
  void to(torch::Device device) override { vit_.model->to(device); }
  // The LoRA adapters once enable_lora() added them (attention.lora_A / lora_B of every block):
  // all of them, and those that train (all, until a trained model freezes them for inference).
  std::vector<std::pair<std::string, torch::Tensor>> adapter_parameters() const override;
  std::vector<std::pair<std::string, torch::Tensor>> trainable_parameters() const override;
  void enable_lora(std::int64_t rank, double alpha) override { vit_.model->enable_lora(rank, alpha); }
  void set_activation_checkpointing(bool on) override { vit_.model->set_activation_checkpointing(on); }

  const std::vector<int>& layers() const { return layers_; }
  VisionTransformer model() const { return vit_.model; }

 private:
  LoadedVit vit_;
  std::vector<int> layers_;
};

}  // namespace lidere::backbones
