// Boundary datasets in BSDS500's layout: pairing images with ground truth, refusals naming the
// file, and the loader's soft training targets and annotator evaluation targets.
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "core/errors.h"
#include "datasets/boundary_dataset.h"
#include "tasks/boundary/boundary_task.h"
#include "test_common.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using lidere::InputError;
using lidere::testing::thrown_message;
using namespace lidere::datasets;

namespace {

fs::path bsds_root() { return lidere::testing::shared_dir() / "datasets/bsds500"; }

// A BSDS-layout copy of a few images of the shared dataset.
fs::path small_copy(const std::string& name, int train, int val) {
  const fs::path dir = lidere::testing::scratch_dir(name);
  for (auto [split, count] : {std::pair{"train", train}, std::pair{"val", val}}) {
    fs::create_directories(dir / "images" / split);
    fs::create_directories(dir / "groundTruth" / split);
    int copied = 0;
    for (const auto& e : fs::directory_iterator(bsds_root() / "groundTruth" / split)) {
      if (copied++ == count) break;
      const std::string id = e.path().stem().string();
      fs::copy_file(e.path(), dir / "groundTruth" / split / (id + ".mat"));
      fs::copy_file(bsds_root() / "images" / split / (id + ".jpg"), dir / "images" / split / (id + ".jpg"));
    }
  }
  return dir;
}

}  // namespace

CATCH_TEST_CASE("boundary dataset: BSDS500 splits pair every image with its ground truth", "[unit]") {
  LIDERE_REQUIRE_AVAILABLE(fs::is_directory(bsds_root() / "groundTruth/val"), "BSDS500 (../shared/datasets/bsds500)");
  const auto train = open_boundary_dataset(bsds_root().string(), "train");
  const auto val = open_boundary_dataset(bsds_root().string(), "val");
  CATCH_CHECK(train.samples.size() == 200);
  CATCH_CHECK(val.samples.size() == 100);
  for (const auto& s : val.samples) CATCH_CHECK(fs::path(s.image).stem() == fs::path(s.ground_truth).stem());
  CATCH_CHECK(std::is_sorted(val.samples.begin(), val.samples.end(),
                             [](const auto& a, const auto& b) { return a.ground_truth < b.ground_truth; }));
  CATCH_CHECK_THAT(thrown_message<InputError>([] { open_boundary_dataset(bsds_root().string(), "test"); }),
                   Contains("no such folder (split 'test')"));
  CATCH_CHECK_THAT(thrown_message<InputError>(
                       [] { open_boundary_dataset(lidere::testing::scratch_dir("empty").string(), "train"); }),
                   Contains("not a boundary dataset"));
}

CATCH_TEST_CASE("boundary dataset: a missing image or ground truth, or a size mismatch, is named", "[unit]") {
  LIDERE_REQUIRE_AVAILABLE(fs::is_directory(bsds_root() / "groundTruth/val"), "BSDS500 (../shared/datasets/bsds500)");
  fs::path dir = small_copy("bsds_missing", 2, 1);
  const fs::path gt = *fs::directory_iterator(dir / "groundTruth/train");
  fs::remove(dir / "images/train" / (gt.stem().string() + ".jpg"));
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { open_boundary_dataset(dir.string(), "train"); }),
                   Contains(gt.filename().string() + ": no image"));
  dir = small_copy("bsds_extra", 1, 1);
  fs::copy_file(*fs::directory_iterator(dir / "images/val"), dir / "images/train/extra.jpg");
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { open_boundary_dataset(dir.string(), "train"); }),
                   Contains("extra.jpg: no ground truth extra.mat"));
  // A ground truth of the other orientation (321x481 vs 481x321), then a broken one.
  dir = small_copy("bsds_size", 1, 1);
  auto train = open_boundary_dataset(dir.string(), "train");
  for (const auto& e : fs::directory_iterator(bsds_root() / "groundTruth/train")) {
    if (thrown_message<InputError>([&] {
          validate_boundary_samples({{train.samples[0].image, e.path().string()}}, "x");
        }).find("ground truth is") == std::string::npos)
      continue;
    fs::copy_file(e.path(), train.samples[0].ground_truth, fs::copy_options::overwrite_existing);
    CATCH_CHECK_THAT(thrown_message<InputError>([&] { validate_boundary_samples(train.samples, "x"); }),
                     Contains("but its image"));
    break;
  }
  std::ofstream(train.samples[0].ground_truth, std::ios::trunc) << "garbage";
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { validate_boundary_samples(train.samples, "x"); }),
                   Contains(fs::path(train.samples[0].ground_truth).filename().string()));
}

CATCH_TEST_CASE("boundary loader: soft targets at the target size, annotators for evaluation", "[unit]") {
  LIDERE_REQUIRE_AVAILABLE(fs::is_directory(bsds_root() / "groundTruth/val"), "BSDS500 (../shared/datasets/bsds500)");
  const fs::path dir = small_copy("bsds_loader", 3, 2);
  auto train = open_boundary_dataset(dir.string(), "train");
  const std::int64_t side = validate_boundary_samples(train.samples, "train");
  CATCH_CHECK(side == 481);
  lidere::data::LoaderSettings settings;
  settings.rows = settings.cols = 64;
  settings.batch = 2;
  const BoundaryLoader loader(train.samples, settings);
  auto batch = loader.training_batch(0);
  CATCH_CHECK(batch.images.sizes() == torch::IntArrayRef({2, 3, 64, 64}));
  // The task builds the soft targets, at no less than the data's largest side.
  lidere::tasks::BoundarySpec spec;
  spec.target_side = side;
  lidere::tasks::BoundaryTask(spec).build_targets(batch);
  for (const auto& t : batch.targets.at("soft").unbind(0)) {
    CATCH_CHECK(t.sizes() == torch::IntArrayRef({481, 481}));
    CATCH_CHECK(t.scalar_type() == torch::kFloat);
    CATCH_CHECK(t.min().item<float>() >= 0);
    CATCH_CHECK(t.max().item<float>() <= 1);
    CATCH_CHECK(t.max().item<float>() > 0);
  }
  const auto eval = loader.evaluation_batch(1);
  CATCH_CHECK(eval.size() == 1);  // 3 images in batches of 2
  const torch::Tensor& a = eval.annotations[0].annotator_maps->maps;
  CATCH_CHECK(a.dim() == 3);
  CATCH_CHECK(a.scalar_type() == torch::kUInt8);
  CATCH_CHECK((a.size(0) >= 4 && a.size(0) <= 9));
  CATCH_CHECK(a.size(1) * a.size(2) == 481 * 321);
}
