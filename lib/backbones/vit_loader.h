// Loading DINOv2 / DINOv3 vision transformers from the checkpoint layouts users have:
//
//   Hugging Face transformers (model.safetensors, with config.json beside it when present):
//     DINOv3ViTModel     embeddings.*, layer.N.* (or model.layer.N.*), norm.*
//     Dinov2Model, Dinov2WithRegistersModel
//                        embeddings.*, encoder.layer.N.attention.attention.{query,key,value},
//                        attention.output.dense, mlp.fc1/fc2 or mlp.weights_in/weights_out
//                        (SwiGLU, [gate; up] stacked), layernorm.*
//   ONNX exports of a Hugging Face DINOv2/DINOv3 from PyTorch (model.onnx): the initializers, with
//     the exporter's anonymous MatMul weights and split position embedding named back through the
//     graph nodes that read them (from_onnx_export in vit_loader.cpp)
//   any of these inside a larger model ("backbone.embeddings..." beside a decoder): the prefix is
//     stripped and the rest left out
//   timm DINOv3 (what the official lidere code uses), e.g. vit_base_patch16_dinov3:
//     cls_token, reg_token, patch_embed.proj, blocks.N.attn.qkv (fused; q_bias/v_bias optional),
//     blocks.N.attn.proj, blocks.N.gamma_1/gamma_2, blocks.N.mlp.fc1/fc2 (or fc1_g/fc1_x), norm
//
// Every layout is mapped onto the Hugging Face DINOv3 names that VisionTransformer uses (the
// table is in docs/backbones.md). Hyperparameters come from config.json where present and
// otherwise from the tensor shapes (heads = hidden / 64, as in every published model).
#pragma once

#include <string>

#include "backbones/vit.h"
#include "core/tensor_file.h"

namespace lidere::backbones {

enum class VitLayout { kHfDinov3, kHfDinov2, kTimmDinov3 };

struct LoadedVit {
  VisionTransformer model{nullptr};
  VitLayout layout;
  std::string weights_path;
};

// `path`: a folder holding model.safetensors (and config.json), or a .safetensors / .pth / .onnx file
// (a config.json beside it is used). Throws InputError naming the file and the problem: a file
// that is damaged, holds another architecture, or does not match its config.
LoadedVit load_vit(const std::string& path);

// The same for tensors already read from `weights_path` (its config.json, if any, is used), so a
// caller that inspected the file to choose the backbone does not read it twice.
LoadedVit load_vit(const TensorFile& raw, const std::string& weights_path);

// "Hugging Face DINOv3ViTModel", ...
const char* layout_name(VitLayout layout);

// The layout of a set of tensors; throws InputError (naming `file.source`) for an unknown one.
VitLayout detect_vit_layout(const TensorFile& file);

// The tensors renamed (and split / stacked) into VisionTransformer's names.
TensorFile map_to_vit_names(const TensorFile& file, VitLayout layout);

}  // namespace lidere::backbones
