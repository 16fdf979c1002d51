// Segmentation dataset readers: layouts, label decoding, and errors that name the file.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "core/errors.h"
#include "datasets/label_png.h"
#include "datasets/segmentation.h"
#include "test_common.h"

namespace {

namespace fs = std::filesystem;
using namespace lidere::datasets;
using lidere::InputError;
using lidere::testing::thrown_message;

void write_png(const fs::path& path, const std::string& kind, int width, int height, const std::vector<int>& values) {
  const auto script = fs::path(LIDERE_SOURCE_DIR) / "tests/datasets/write_png.py";
  std::string command = fmt::format("\"{}\" \"{}\" \"{}\" {} {} {}", lidere::testing::python(), script.string(),
                                    path.string(), kind, width, height);
  for (int v : values) command += fmt::format(" {}", v);
  if (std::system(command.c_str()) != 0) throw std::runtime_error("write_png.py failed");
}

void write_image(const fs::path& path, int width, int height) {
  cv::imwrite(path.string(), cv::Mat(height, width, CV_8UC3, cv::Scalar(10, 200, 30)));
}

}  // namespace

CATCH_TEST_CASE("label PNGs: grayscale, palette (indices, not colours), 4- and 16-bit", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("labels");
  write_png(dir / "gray.png", "gray8", 3, 2, {0, 1, 2, 3, 4, 255});
  write_png(dir / "palette.png", "palette8", 3, 1, {0, 7, 15});
  write_png(dir / "palette4.png", "palette4", 3, 1, {1, 9, 15});
  write_png(dir / "wide.png", "gray16", 2, 1, {300, 65535});
  write_png(dir / "rgb.png", "rgb8", 1, 1, {1, 2, 3});
  CATCH_REQUIRE(torch::equal(read_label_png((dir / "gray.png").string()),
                             torch::tensor({0, 1, 2, 3, 4, 255}, torch::kInt64).view({2, 3})));
  CATCH_REQUIRE(torch::equal(read_label_png((dir / "palette.png").string()), torch::tensor({{0, 7, 15}}, torch::kInt64)));
  CATCH_REQUIRE(torch::equal(read_label_png((dir / "palette4.png").string()), torch::tensor({{1, 9, 15}}, torch::kInt64)));
  CATCH_REQUIRE(torch::equal(read_label_png((dir / "wide.png").string()), torch::tensor({{300, 65535}}, torch::kInt64)));
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { read_label_png((dir / "rgb.png").string()); }),
                     Catch::Contains("rgb.png") && Catch::Contains("not a colour image"));
  std::ofstream(dir / "text.png") << "not a png";
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { read_label_png((dir / "text.png").string()); }),
                     Catch::Contains("text.png") && Catch::Contains("not a PNG"));
  // A truncated PNG: libpng's error comes back as an InputError.
  {
    std::ifstream in(dir / "gray.png", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir / "cut.png", std::ios::binary) << bytes.substr(0, bytes.size() - 20);
  }
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { read_label_png((dir / "cut.png").string()); }),
                     Catch::Contains("cut.png"));
}

CATCH_TEST_CASE("CamVid list files resolve and validate; a wrong ignore index is reported by value", "[unit]") {
  const auto camvid = lidere::testing::shared_dir() / "datasets/camvid";
  LIDERE_REQUIRE_AVAILABLE(fs::is_directory(camvid), "CamVid (../shared/datasets/camvid)");
  auto samples = samples_from_list((camvid / "val.txt").string());
  CATCH_REQUIRE(samples.size() == 101);
  samples.resize(12);
  LabelSpace labels{read_class_names((camvid / "classes.txt").string()), 11};  // 11 = unlabelled
  CATCH_REQUIRE(labels.classes() == 11);
  validate_samples(samples, labels, "camvid val");
  labels.ignore_index = 255;
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { validate_samples(samples, labels, "camvid val"); }),
                     Catch::Contains("valannot/") && Catch::Contains("label value 11") &&
                         Catch::Contains("not a class (0..10)"));
}

CATCH_TEST_CASE("folder and VOC layouts; every bad dataset names the file", "[unit]") {
  const auto root = lidere::testing::scratch_dir("seg_datasets");
  // Folder layout.
  fs::create_directories(root / "folder/images");
  fs::create_directories(root / "folder/labels");
  write_image(root / "folder/images/a.jpg", 4, 3);
  write_image(root / "folder/images/b.png", 4, 3);
  write_png(root / "folder/labels/a.png", "gray8", 4, 3, std::vector<int>(12, 1));
  write_png(root / "folder/labels/b.png", "palette8", 4, 3, std::vector<int>(12, 2));
  const LabelSpace three{{"background", "leaf", "spot"}, 255};
  const auto folder = samples_from_folder((root / "folder").string());
  CATCH_REQUIRE(folder.size() == 2);
  validate_samples(folder, three, "folder");
  // A label of another size than its image.
  write_png(root / "folder/labels/b.png", "gray8", 3, 3, std::vector<int>(9, 0));
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { validate_samples(folder, three, "folder"); }),
                     Catch::Contains("b.png: label is 3x3 but its image") && Catch::Contains("is 3x4"));
  write_png(root / "folder/labels/b.png", "palette8", 4, 3, std::vector<int>(12, 2));
  // An image without a label.
  write_image(root / "folder/images/c.jpg", 4, 3);
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { samples_from_folder((root / "folder").string()); }),
                     Catch::Contains("c.jpg: no label"));
  // An unreadable image.
  std::ofstream(root / "folder/images/c.jpg") << "garbage";
  write_png(root / "folder/labels/c.png", "gray8", 4, 3, std::vector<int>(12, 0));
  CATCH_REQUIRE_THAT(thrown_message<InputError>(
                         [&] { validate_samples(samples_from_folder((root / "folder").string()), three, "f"); }),
                     Catch::Contains("c.jpg: cannot decode image"));

  // VOC layout.
  fs::create_directories(root / "voc/JPEGImages");
  fs::create_directories(root / "voc/SegmentationClass");
  fs::create_directories(root / "voc/ImageSets/Segmentation");
  write_image(root / "voc/JPEGImages/2007_000001.jpg", 2, 2);
  write_png(root / "voc/SegmentationClass/2007_000001.png", "palette8", 2, 2, {0, 15, 255, 3});
  std::ofstream(root / "voc/ImageSets/Segmentation/train.txt") << "2007_000001\n";
  std::ofstream(root / "voc/ImageSets/Segmentation/empty.txt") << "\n";
  LabelSpace voc{std::vector<std::string>(21, "class"), 255};
  const auto train = samples_from_voc((root / "voc").string(), "train");
  CATCH_REQUIRE(train.size() == 1);
  validate_samples(train, voc, "voc train");
  voc.class_names.resize(10);
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { validate_samples(train, voc, "voc train"); }),
                     Catch::Contains("2007_000001.png: label value 15 (1 pixels)"));
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { samples_from_voc((root / "voc").string(), "val"); }),
                     Catch::Contains("split file for 'val' does not exist"));
  CATCH_REQUIRE_THAT(
      thrown_message<InputError>([&] { validate_samples(samples_from_voc((root / "voc").string(), "empty"), voc, "voc empty"); }),
      Catch::Contains("voc empty: the dataset is empty"));
  // A list file that names a missing label.
  std::ofstream(root / "list.txt") << "voc/JPEGImages/2007_000001.jpg voc/SegmentationClass/missing.png\n";
  CATCH_REQUIRE_THAT(thrown_message<InputError>([&] { samples_from_list((root / "list.txt").string()); }),
                     Catch::Contains("list.txt:1: label") && Catch::Contains("missing.png does not exist"));
}
