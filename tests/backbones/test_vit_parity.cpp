// Parity of the native DINOv2 / DINOv3 transformers with Hugging Face transformers on randomly
// initialised models (tests/backbones/make_vit_references.py writes them with save_pretrained, and
// exports some to ONNX).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <torch/torch.h>

#include "backbones/vit_backbone.h"
#include "backbones/vit_loader.h"
#include "core/errors.h"
#include "core/tensor_file.h"
#include "test_common.h"

namespace {

namespace fs = std::filesystem;
using namespace lidere::backbones;

constexpr double kTolerance = 1e-4;  // float32, relative to the reference's largest magnitude

using lidere::testing::relative_error;

// The reference models, written once per build folder and script version (every test case runs
// in its own process). Empty when the test environment has no transformers (a skip); a script
// that fails otherwise fails the test with its log.
fs::path references() {
  static const fs::path dir = [] {
    const fs::path versions = lidere::testing::scratch_dir("vit_versions") / "versions.txt";
    const std::string probe =
        fmt::format("\"{}\" -c \"import torch, transformers, onnx; print(torch.__version__, transformers.__version__, onnx.__version__)\" > \"{}\" 2>/dev/null",
                    lidere::testing::python(), versions.string());
    if (std::system(probe.c_str()) != 0) return fs::path();
    std::ifstream in(versions);
    const std::string installed((std::istreambuf_iterator<char>(in)), {});
    const fs::path script = fs::path(LIDERE_SOURCE_DIR) / "tests/backbones/make_vit_references.py";
    return lidere::testing::cached_output("vit_references", script, installed, [&](const fs::path& out) {
      const std::string command = fmt::format("\"{}\" \"{}\" \"{}\" > \"{}/log.txt\" 2>&1", lidere::testing::python(),
                                              script.string(), out.string(), out.string());
      if (std::system(command.c_str()) != 0) {
        std::ifstream log(out / "log.txt");
        const std::string text((std::istreambuf_iterator<char>(log)), {});
        throw std::runtime_error("make_vit_references.py failed:\n" +
                                 text.substr(text.size() > 2000 ? text.size() - 2000 : 0));
      }
    });
  }();
  return dir;
}

}  // namespace

CATCH_TEST_CASE("native DINOv2 / DINOv3 match Hugging Face transformers hidden state by hidden state", "[parity]") {
  const fs::path refs = references();
  LIDERE_REQUIRE_AVAILABLE(!refs.empty(), "python with transformers and onnx (the reference)");
  for (const char* name : {"dinov3_vits16", "dinov3_vitb16_nonsquare", "dinov3_vitsplus16_gated", "dinov2_vits14",
                           "dinov2_vits14_reg_nonsquare", "dinov2_swiglu"}) {
    CATCH_SECTION(name) {
      const auto reference = lidere::load_safetensors((refs / name / "reference.safetensors").string());
      LoadedVit vit = load_vit((refs / name).string());
      const auto depth = static_cast<int>(vit.model->config().depth);
      std::vector<int> taps;
      for (int i = 0; i < depth; ++i) taps.push_back(i);
      taps.push_back(-1);
      torch::NoGradGuard no_grad;
      const auto outputs = vit.model->forward(reference.at("pixel_values"), taps);
      double worst = 0;
      for (int i = 0; i < depth; ++i) {
        const double err = relative_error(outputs[i], reference.at(fmt::format("hidden.{}", i + 1)));
        CATCH_INFO(fmt::format("block {}: {:.2e}", i, err));
        CATCH_CHECK(err <= kTolerance);
        worst = std::max(worst, err);
      }
      const double final_err = relative_error(outputs.back(), reference.at("last_hidden_state"));
      CATCH_CHECK(final_err <= kTolerance);
      // The official feature pipeline from images in [0, 1].
      VitBackbone backbone(vit);
      const torch::Tensor features = backbone.features(reference.at("images"));
      const double feature_err = relative_error(features, reference.at("features"));
      CATCH_CHECK(feature_err <= kTolerance);
      const auto rows = reference.at("images").size(2), cols = reference.at("images").size(3);
      const double raw_err = relative_error(extract_features(backbone, reference.at("raw_images"), rows, cols),
                                       reference.at("raw_features"));
      CATCH_CHECK(raw_err <= kTolerance);
      const auto shape = backbone.feature_shape(rows, cols);
      CATCH_REQUIRE(features.sizes() == torch::IntArrayRef({2, shape.channels, shape.grid.rows, shape.grid.cols}));
      fmt::print("{}: {}; worst block {:.1e}, final {:.1e}, features {:.1e}, resized input {:.1e}\n", name,
                 vit.model->config().describe(), worst, final_err, feature_err, raw_err);
    }
  }
}

CATCH_TEST_CASE("timm's DINOv3 layout loads through the key mapping, hyperparameters from the shapes", "[parity]") {
  const fs::path refs = references();
  LIDERE_REQUIRE_AVAILABLE(!refs.empty(), "python with transformers and onnx (the reference)");
  for (const char* name : {"dinov3_vits16", "dinov3_vitsplus16_gated"}) {
    CATCH_INFO(name);
    const auto reference = lidere::load_safetensors((refs / name / "reference.safetensors").string());
    LoadedVit vit = load_vit((refs / (std::string(name) + "_timm") / "vit_timm.safetensors").string());
    CATCH_REQUIRE(vit.layout == VitLayout::kTimmDinov3);
    torch::NoGradGuard no_grad;
    const auto out = vit.model->forward(reference.at("pixel_values"), {-1});
    CATCH_REQUIRE(relative_error(out[0], reference.at("last_hidden_state")) <= kTolerance);
  }
}

CATCH_TEST_CASE("ONNX exports of DINOv2 and DINOv3 load through their graph and match transformers", "[parity]") {
  const fs::path refs = references();
  LIDERE_REQUIRE_AVAILABLE(!refs.empty(), "python with transformers and onnx (the reference)");
  // Exported by PyTorch inside a model with a decoder: anonymous, transposed MatMul weights, the
  // position embedding split in two, a "backbone." prefix, and (fresh) Identity-shared tensors.
  for (const char* name : {"dinov2_onnx_fresh", "dinov2_onnx_random", "dinov3_onnx_random"}) {
    CATCH_SECTION(name) {
      const auto reference = lidere::load_safetensors((refs / name / "reference.safetensors").string());
      LoadedVit vit = load_vit((refs / name / "model.onnx").string());
      CATCH_REQUIRE(vit.layout == (std::string(name).starts_with("dinov3") ? VitLayout::kHfDinov3 : VitLayout::kHfDinov2));
      VitBackbone backbone(vit);
      torch::NoGradGuard no_grad;
      for (const char* suffix : {"", "_other"}) {
        const torch::Tensor images = reference.at(std::string("images") + suffix);
        const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
        const auto stdev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
        const auto last = vit.model->forward((images - mean) / stdev, {-1}).back();
        const double hidden_err = relative_error(last, reference.at(std::string("last_hidden_state") + suffix));
        const double feature_err = relative_error(backbone.features(images), reference.at(std::string("features") + suffix));
        fmt::print("{} at {}x{}: final hidden state {:.1e}, features {:.1e}\n", name, images.size(2), images.size(3),
                   hidden_err, feature_err);
        CATCH_CHECK(hidden_err <= kTolerance);
        CATCH_CHECK(feature_err <= kTolerance);
      }
    }
  }
  CATCH_SECTION("a truncated file, a missing tensor, another architecture") {
    using lidere::InputError;
    using lidere::testing::thrown_message;
    const auto scratch = lidere::testing::scratch_dir("vit_onnx_errors");
    const fs::path model = refs / "dinov2_onnx_random" / "model.onnx";
    fs::copy_file(model, scratch / "cut.onnx", fs::copy_options::overwrite_existing);
    fs::resize_file(scratch / "cut.onnx", fs::file_size(model) * 2 / 3);
    CATCH_CHECK_THAT(thrown_message<InputError>([&] { load_vit((scratch / "cut.onnx").string()); }),
                     Catch::Contains("cut.onnx") && Catch::Contains("not a readable ONNX model"));
    lidere::TensorFile file = lidere::load_tensor_file(model.string());
    file.tensors.erase("backbone.encoder.layer.2.norm2.bias");
    CATCH_CHECK_THAT(thrown_message<InputError>([&] { load_vit(file, model.string()); }),
                     Catch::Contains("model.onnx") && Catch::Contains("layer.2.norm2.bias"));
    lidere::TensorFile decoder_only = lidere::load_tensor_file(model.string());
    std::erase_if(decoder_only.tensors, [](const auto& kv) { return kv.first.rfind("decoder.", 0) != 0; });
    CATCH_CHECK_THAT(thrown_message<InputError>([&] { load_vit(decoder_only, model.string()); }),
                     Catch::Contains("model.onnx") && Catch::Contains("not a DINOv2/DINOv3 ViT checkpoint"));
  }
}

CATCH_TEST_CASE("backbone errors name the problem", "[parity]") {
  const fs::path refs = references();
  LIDERE_REQUIRE_AVAILABLE(!refs.empty(), "python with transformers and onnx (the reference)");
  using lidere::InputError;
  using lidere::testing::thrown_message;
  const auto scratch = lidere::testing::scratch_dir("vit_errors");
  CATCH_SECTION("a size that is not a multiple of the patch") {
    VitBackbone backbone(load_vit((refs / "dinov3_vits16").string()));
    CATCH_REQUIRE_THAT(thrown_message<lidere::UsageError>([&] { backbone.feature_shape(500, 512); }),
                       Catch::Contains("500x512") && Catch::Contains("patch size 16"));
  }
  CATCH_SECTION("corrupt weights") {
    fs::create_directories(scratch / "corrupt");
    fs::copy_file(refs / "dinov3_vits16" / "config.json", scratch / "corrupt" / "config.json");
    const auto bytes = fs::file_size(refs / "dinov3_vits16" / "model.safetensors");
    fs::copy_file(refs / "dinov3_vits16" / "model.safetensors", scratch / "corrupt" / "model.safetensors");
    fs::resize_file(scratch / "corrupt" / "model.safetensors", bytes / 2);
    CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { load_vit((scratch / "corrupt").string()); }),
                       Catch::Contains("model.safetensors") && Catch::Contains("truncated"));
  }
  CATCH_SECTION("weights of another architecture") {
    lidere::save_safetensors((scratch / "other.safetensors").string(),
                             {{"layers.0.proj.0.weight", torch::zeros({64, 8, 1, 1})}});
    CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { load_vit((scratch / "other.safetensors").string()); }),
                       Catch::Contains("not a DINOv2/DINOv3 ViT checkpoint"));
  }
  CATCH_SECTION("a config.json that does not belong to the weights") {
    fs::create_directories(scratch / "mixed");
    fs::copy_file(refs / "dinov3_vitb16_nonsquare" / "config.json", scratch / "mixed" / "config.json");
    fs::copy_file(refs / "dinov3_vits16" / "model.safetensors", scratch / "mixed" / "model.safetensors");
    CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { load_vit((scratch / "mixed").string()); }),
                       Catch::Contains("hidden_size = 768") && Catch::Contains("384"));
  }
  CATCH_SECTION("a missing block tensor is named") {
    auto file = lidere::load_safetensors((refs / "dinov3_vits16" / "model.safetensors").string());
    file.tensors.erase("layer.3.mlp.up_proj.bias");
    lidere::save_safetensors((scratch / "missing.safetensors").string(), file.tensors);
    CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { load_vit((scratch / "missing.safetensors").string()); }),
                       Catch::Contains("missing: layer.3.mlp.up_proj.bias"));
  }
}
