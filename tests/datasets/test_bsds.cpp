// BSDS500 ground truth read from the real .mat files (../shared), and refusals naming the file.
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "core/errors.h"
#include "core/image_io.h"
#include "datasets/bsds.h"
#include "tasks/boundary/boundary_task.h"
#include "test_common.h"

namespace fs = std::filesystem;
using lidere::InputError;
using lidere::testing::thrown_message;
using namespace lidere::datasets;

CATCH_TEST_CASE("BSDS500 ground truth: every annotator, image-sized maps, soft targets", "[unit]") {
  const fs::path root = lidere::testing::shared_dir() / "datasets/bsds500";
  LIDERE_REQUIRE_AVAILABLE(fs::is_directory(root / "groundTruth/val"), "BSDS500 (../shared/datasets/bsds500)");
  std::size_t files = 0, annotations = 0;
  for (const auto& entry : fs::directory_iterator(root / "groundTruth/val")) {
    const auto gt = read_bsds_ground_truth(entry.path().string());
    ++files;
    annotations += gt.size();
    CATCH_CHECK((gt.size() >= 5 && gt.size() <= 8));
    const auto size = gt.front().boundaries.sizes();
    CATCH_CHECK(((size[0] == 321 && size[1] == 481) || (size[0] == 481 && size[1] == 321)));
    for (const auto& a : gt) {
      CATCH_CHECK(a.segmentation.min().item<std::int64_t>() >= 1);
      CATCH_CHECK(a.boundaries.any().item<bool>());
    }
    if (files == 1) {
      // Orientation: the maps have the image's rows and columns (MATLAB stores columns first).
      const auto image =
          lidere::read_image_rgb((root / "images/val" / (entry.path().stem().string() + ".jpg")).string());
      CATCH_CHECK(image.size(1) == size[0]);
      CATCH_CHECK(image.size(2) == size[1]);
      std::vector<torch::Tensor> maps;
      for (const auto& a : gt) maps.push_back(a.boundaries.to(torch::kUInt8));
      const auto soft = lidere::tasks::soft_target(torch::stack(maps));
      CATCH_CHECK(soft.max().item<float>() <= 1.0f);
      CATCH_CHECK(soft.min().item<float>() >= 0.0f);
      CATCH_CHECK(soft.sum().item<double>() == Approx([&] {
                    double total = 0;
                    for (const auto& a : gt) total += a.boundaries.sum().item<double>();
                    return total / static_cast<double>(gt.size());
                  }()));
    }
  }
  // The shared README's count for val: 100 images, 546 annotations.
  CATCH_CHECK(files == 100);
  CATCH_CHECK(annotations == 546);
}

CATCH_TEST_CASE("BSDS500 ground truth: broken or foreign files are refused by name", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("bsds");
  std::ofstream(dir / "garbage.mat") << "MATLAB 5.0 MAT-file, but then nothing useful";
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { read_bsds_ground_truth((dir / "garbage.mat").string()); }),
                   Catch::Contains("garbage.mat"));
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { read_bsds_ground_truth((dir / "missing.mat").string()); }),
                   Catch::Contains("missing.mat: cannot open"));
  const fs::path segs = lidere::testing::shared_dir() / "datasets/bsds500/bench/segs/2018.mat";
  if (fs::exists(segs)) {
    CATCH_CHECK_THAT(thrown_message<InputError>([&] { read_bsds_ground_truth(segs.string()); }),
                     Catch::Contains("2018.mat: no 'groundTruth' cell array"));
  }
}
