// The readout-size rule for any input the backbone takes (issue 12, item 4) and the recommended
// settings of a first run (item 5).
#include <torch/torch.h>

#include "backbones/vit_backbone.h"
#include "core/errors.h"
#include "inference/model.h"
#include "inference/recommended.h"
#include "readout/readout_head.h"
#include "tasks/segmentation/segmentation_task.h"
#include "test_common.h"
#include "test_tiny_vit.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

namespace {

// A tiny random DINOv2-family ViT with DINOv2's patch of 14 (its own initialisation).
std::unique_ptr<backbones::VitBackbone> tiny_patch14_vit() {
  backbones::VitConfig c = lidere::testing::tiny_vit_config(14);
  c.family = backbones::VitFamily::kDinov2;
  c.registers = 0;
  c.position_grid = 4;
  return lidere::testing::tiny_vit_backbone(c, backbones::VitLayout::kHfDinov2, 11, /*std=*/0);
}

}  // namespace

CATCH_TEST_CASE("readout grids: input / 8 rounded down by default, any multiple of the patch, or a set base grid",
                "[unit]") {
  const auto vit = tiny_patch14_vit();
  // The official DINOv2 setting: 518 px (a 37 x 37 token grid) with a 64 x 64 target grid.
  const readout::ReadoutConfig official = inference::readout_config_for(*vit, 518, 518, 64, 8);
  CATCH_REQUIRE(official.feature_grid == GridSize{37, 37});
  CATCH_REQUIRE(official.base_grid == GridSize{64, 64});
  // 512 px on a stride-16 backbone gives 64 too; sizes that are no multiple of 8 round down.
  CATCH_REQUIRE(inference::readout_config_for(*vit, 266, 378, 64, 8).base_grid == GridSize{33, 47});
  CATCH_REQUIRE(inference::readout_config_for(*vit, 518, 518, 64, 8, {32, 48}).base_grid == GridSize{32, 48});
  CATCH_REQUIRE_THAT(thrown_message<UsageError>([&] { inference::readout_config_for(*vit, 512, 512, 64, 8); }),
                     Contains("not a multiple of the patch size 14"));
  CATCH_REQUIRE_THROWS_AS(inference::readout_config_for(*vit, 518, 518, 64, 8, {64}), UsageError);

  // Both readouts give 4x the target grid, and the task brings it to the image's own size.
  const tasks::SegmentationTask task({{"a", "b", "c"}, 255});
  for (const auto kind : {readout::ReadoutKind::kLiDeRe, readout::ReadoutKind::kLinear}) {
    CATCH_INFO(readout::readout_kind_name(kind));
    for (const auto& [size, base] : std::vector<std::pair<GridSize, std::vector<std::int64_t>>>{
             {{70, 98}, {}}, {{84, 126}, {}}, {{70, 98}, {6, 9}}}) {
      CATCH_INFO(size.str());
      const readout::ReadoutConfig rc = inference::readout_config_for(*vit, size.rows, size.cols, 64, 8, base);
      torch::manual_seed(0);
      readout::ReadoutHead head(kind, rc, task.heads());
      torch::NoGradGuard no_grad;
      const torch::Tensor features = vit->features(torch::rand({1, 3, size.rows, size.cols}));
      const torch::Tensor logits = head.forward(features).at("logits");
      CATCH_REQUIRE(logits.size(2) == 4 * rc.base_grid.rows);
      CATCH_REQUIRE(logits.size(3) == 4 * rc.base_grid.cols);
      const torch::Tensor at_image = task.results({{"logits", logits}}, 360, 480).at("logits");
      CATCH_REQUIRE(at_image.sizes() == torch::IntArrayRef({3, 360, 480}));
    }
  }
}

CATCH_TEST_CASE("recommended settings: per task and bundled backbone", "[unit]") {
  const nlohmann::json seg = inference::recommended_settings("seg", "efficientnet-lite0");
  CATCH_REQUIRE(seg.at("lr").get<double>() == 0.01);
  CATCH_REQUIRE(seg.at("iterations").get<std::int64_t>() == 1000);
  CATCH_REQUIRE(seg.at("imgsz") == nlohmann::json({256, 256}));
  const nlohmann::json boundary = inference::recommended_settings("boundary", "dinov2-s-imgfocus");
  CATCH_REQUIRE(boundary.at("imgsz") == nlohmann::json({280, 280}));
  CATCH_REQUIRE(boundary.at("task_options").at("balanced").get<bool>());
  // Adapters get their own rate only in a run that trains them.
  CATCH_REQUIRE(!boundary.contains("lora_lr"));
  CATCH_REQUIRE(inference::recommended_settings("seg", "dinov2-s-imgfocus", /*adapters=*/true).at("lora_lr") == 1e-4);
  // A backbone file of the user's: no size is recommended (the default 256 stays).
  CATCH_REQUIRE(!inference::recommended_settings("seg", "/data/my_vit.safetensors").contains("imgsz"));
  CATCH_REQUIRE_THROWS_AS(inference::recommended_settings("segment", "efficientnet-lite0"), UsageError);
}
