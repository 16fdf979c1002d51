// Data pipeline: writing label PNGs, dataset discovery, deterministic batches and augmentations
// that keep images and labels aligned.
#include <filesystem>
#include <fstream>
#include <set>

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "core/errors.h"
#include "core/plot.h"
#include "core/rng.h"
#include "data/augment.h"
#include "datasets/dataset_config.h"
#include "datasets/label_png.h"
#include "datasets/segmentation_loader.h"
#include "test_common.h"

namespace {

namespace fs = std::filesystem;
using namespace lidere;
using namespace lidere::datasets;
using namespace lidere::data;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

// A folder dataset whose images encode their labels: red = label * 40 (so alignment can be checked
// after augmentation), names listed in classes.txt.
fs::path make_folder_dataset(const std::string& name, int count, int rows, int cols) {
  const fs::path root = lidere::testing::scratch_dir(name);
  std::ofstream(root / "classes.txt") << "zero\none\ntwo\n";
  for (const char* split : {"train", "val"}) {
    fs::create_directories(root / split / "images");
    fs::create_directories(root / split / "labels");
    for (int i = 0; i < count; ++i) {
      torch::Tensor label = torch::zeros({rows, cols}, torch::kLong);
      label.slice(0, 0, rows / 2).slice(1, i % cols, cols).fill_(1);
      label.slice(0, rows / 2, rows).slice(1, 0, (i + 3) % cols).fill_(2);
      const std::string stem = fmt::format("{}_{}", split, i);
      write_label_png((root / split / "labels" / (stem + ".png")).string(), label, class_palette(3));
      cv::Mat image(rows, cols, CV_8UC3, cv::Scalar(0, 0, 0));
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c)
          image.at<cv::Vec3b>(r, c)[2] = static_cast<std::uint8_t>(40 * label[r][c].item<std::int64_t>());
      }
      cv::imwrite((root / split / "images" / (stem + ".png")).string(), image);
    }
  }
  return root;
}

}  // namespace

CATCH_TEST_CASE("label PNGs written as palette PNGs read back as indices", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("write_labels");
  const torch::Tensor labels = torch::randint(0, 21, {7, 9}, torch::kLong);
  write_label_png((dir / "a.png").string(), labels, class_palette(21));
  CATCH_CHECK(torch::equal(read_label_png((dir / "a.png").string()), labels));
  const torch::Tensor many = torch::randint(0, 1000, {3, 4}, torch::kLong);
  write_label_png((dir / "b.png").string(), many, class_palette(1000));  // 16-bit grayscale
  CATCH_CHECK(torch::equal(read_label_png((dir / "b.png").string()), many));
  CATCH_CHECK(class_palette(3)[1] == std::array<std::uint8_t, 3>{128, 0, 0});  // VOC's aeroplane red
}

CATCH_TEST_CASE("dataset discovery: folder layout, classes, splits, errors naming the path", "[unit]") {
  const fs::path root = make_folder_dataset("discovery", 3, 8, 10);
  const auto train = open_segmentation_dataset(root.string(), "train");
  CATCH_CHECK(train.samples.size() == 3);
  CATCH_CHECK(train.labels.class_names == std::vector<std::string>{"zero", "one", "two"});
  CATCH_CHECK(train.labels.ignore_index == 255);
  CATCH_CHECK(open_segmentation_dataset(root.string(), "train", 7).labels.ignore_index == 7);
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { open_segmentation_dataset(root.string(), "test"); }),
                   Contains("cannot find split 'test'"));
  std::ofstream(root / "lidere.json")
      << R"({"format": "folder", "splits": {"train": "val"}, "classes": ["a", "b", "c"], "ignore_index": 9})";
  const auto via_config = open_segmentation_dataset(root.string(), "train");
  CATCH_CHECK(via_config.labels.ignore_index == 9);
  CATCH_CHECK(via_config.samples.front().image.find("val_0") != std::string::npos);
  std::ofstream(root / "lidere.json") << "{broken";
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { open_segmentation_dataset(root.string(), "train"); }),
                   Contains("lidere.json: not valid JSON"));
  fs::remove(root / "lidere.json");
  fs::remove(root / "classes.txt");
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { open_segmentation_dataset(root.string(), "train"); }),
                   Contains("no class names: add classes.txt"));
}

CATCH_TEST_CASE("training batches: a pure function of (seed, step); every epoch visits each sample once", "[unit]") {
  const fs::path root = make_folder_dataset("batches", 5, 16, 20);
  const auto dataset = open_segmentation_dataset(root.string(), "train");
  LoaderSettings settings;
  settings.rows = 8;
  settings.cols = 8;
  settings.batch = 5;
  settings.seed = 3;
  const SegmentationLoader loader(dataset.samples, settings);
  const auto later = loader.training_batch(2), first = loader.training_batch(0), again = loader.training_batch(2);
  CATCH_CHECK(torch::equal(later.images, again.images));
  CATCH_CHECK(later.names == again.names);
  CATCH_CHECK(first.images.sizes() == torch::IntArrayRef({5, 3, 8, 8}));
  CATCH_CHECK(first.annotations[0].label_map->transformed(first.transforms[0], 8, 8).classes.sizes() ==
              torch::IntArrayRef({8, 8}));
  CATCH_CHECK(std::set<std::string>(first.names.begin(), first.names.end()).size() == 5);
  CATCH_CHECK(first.names != loader.training_batch(1).names);  // a new permutation per epoch (almost surely)
  const auto eval = loader.evaluation_batch(0);
  CATCH_CHECK(eval.annotations[0].label_map->classes.sizes() == torch::IntArrayRef({16, 20}));  // labels at their own size
  CATCH_CHECK(loader.evaluation_batches(3) == 1);
}

CATCH_TEST_CASE("augmentations keep image and label aligned and are reproducible", "[unit]") {
  torch::Tensor label = torch::zeros({24, 32}, torch::kLong);
  label.slice(0, 4, 14).slice(1, 3, 20).fill_(1);
  label.slice(0, 16, 22).slice(1, 10, 30).fill_(2);
  const torch::Tensor image = (label.to(torch::kFloat) / 4.0).unsqueeze(0).repeat({3, 1, 1});
  for (const char* mode : {"hflip", "standard"}) {
    int changed = 0;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
      torch::Tensor a = image.clone(), b = label.clone(), a2 = image.clone(), b2 = label.clone();
      AugmentSettings settings{mode, 1.5, 0.0};
      Rng rng(seed), rng2(seed);
      augment(a, b, settings, rng);
      augment(a2, b2, settings, rng2);
      CATCH_CHECK(torch::equal(a, a2));
      CATCH_CHECK(torch::equal(b, b2));
      CATCH_CHECK(a.sizes() == image.sizes());
      CATCH_CHECK(b.sizes() == label.sizes());
      if (!torch::equal(b, label)) ++changed;
      if (std::string(mode) == "hflip") {
        CATCH_CHECK(torch::equal(a[0] * 4.0, b.to(torch::kFloat)));  // exactly aligned
      } else {
        // Colour changes move values, but the class regions must stay where the image has them:
        // the image's edges sit at the label's edges (checked on the sign of horizontal differences).
        const torch::Tensor label_edges = b.diff(1, 1) != 0;
        const torch::Tensor image_edges = a.mean(0).diff(1, 1).abs() > 1e-3;
        CATCH_CHECK((label_edges & ~image_edges).sum().item<std::int64_t>() <=
                    label_edges.sum().item<std::int64_t>() / 4);
      }
    }
    CATCH_CHECK(changed > 5);
  }
  torch::Tensor a = image.clone(), b = label.clone();
  Rng rng(1);
  augment(a, b, {"none", 1.5, 0.0}, rng);
  CATCH_CHECK(torch::equal(b, label));
}
