// Detection datasets (datasets/detection_dataset.h): the raccoon set (VOC, flat layout) as it is,
// and made-up VOC and COCO folders with what real ones hold (difficult objects, unknown names,
// boxes past the border, non-contiguous category ids, crowd regions).
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "datasets/detection_dataset.h"
#include "test_common.h"

namespace fs = std::filesystem;
using lidere::datasets::open_detection_dataset;
using lidere::testing::thrown_message;

namespace {

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// An "image" file: the opener only looks for it (decoding is the task's check).
void touch_image(const fs::path& file) { write(file, "not decoded here"); }

std::string voc_xml(int width, int height, const std::string& objects) {
  return fmt::format("<annotation><size><width>{}</width><height>{}</height><depth>3</depth></size>{}</annotation>", width,
                     height, objects);
}

std::string voc_object(const std::string& name, int x0, int y0, int x1, int y1, bool difficult = false) {
  return fmt::format("<object><name>{}</name><difficult>{}</difficult><bndbox><xmin>{}</xmin><ymin>{}</ymin>"
                     "<xmax>{}</xmax><ymax>{}</ymax></bndbox></object>",
                     name, difficult ? 1 : 0, x0, y0, x1, y1);
}

}  // namespace

CATCH_TEST_CASE("Detection datasets: the raccoon set's splits, boxes and class", "[unit]") {
  const fs::path root = lidere::testing::shared_dir() / "datasets/raccoon";
  LIDERE_REQUIRE_AVAILABLE(fs::is_directory(root), "the raccoon dataset (../shared/datasets/raccoon)");
  const auto train = open_detection_dataset(root.string(), "train");
  const auto val = open_detection_dataset(root.string(), "val");
  CATCH_CHECK(train.format == "voc-flat");
  CATCH_CHECK(train.images.size() == 160);
  CATCH_CHECK(val.images.size() == 40);
  CATCH_CHECK(train.class_names == std::vector<std::string>{"raccoon"});
  CATCH_CHECK(val.category_ids == std::vector<std::int64_t>{1});
  std::size_t boxes = 0;
  for (const auto* split : {&train, &val}) {
    for (const auto& image : split->images) boxes += image.boxes.size();
  }
  CATCH_CHECK(boxes == 217);  // the README's count: every box inside its image, none dropped
  CATCH_CHECK(train.warnings.empty());
  CATCH_CHECK(val.warnings.empty());
  for (const auto& image : train.images) {
    if (image.file.filename() != "raccoon-1.jpg") continue;
    CATCH_REQUIRE(image.boxes.size() == 1);
    CATCH_CHECK(image.boxes[0].xyxy == std::array<double, 4>{80, 87, 522, 408});  // VOC 81 88 522 408
  }
  const auto set = lidere::datasets::to_coco_set(val);
  CATCH_CHECK(set.images.size() == 40);
  CATCH_CHECK(set.annotations.front().id == 1);  // pycocotools reads id 0 as "unmatched"
}

CATCH_TEST_CASE("Detection datasets: VOC layout with difficult objects, unknown names and boxes past the border", "[unit]") {
  const fs::path root = lidere::testing::scratch_dir("voc_detection");
  write(root / "classes.txt", "cat\ndog\n");
  write(root / "ImageSets/Main/train.txt", "a\nb\n");
  touch_image(root / "JPEGImages/a.jpg");
  touch_image(root / "JPEGImages/b.png");
  write(root / "Annotations/a.xml", voc_xml(100, 80, voc_object("dog", 1, 1, 100, 80) + voc_object("cat", 10, 10, 20, 20, true) +
                                                         voc_object("horse", 5, 5, 9, 9)));
  write(root / "Annotations/b.xml", voc_xml(50, 40, voc_object("cat", 40, 30, 70, 60)));
  const auto d = open_detection_dataset(root.string(), "train");
  CATCH_CHECK(d.format == "voc");
  CATCH_CHECK(d.class_names == std::vector<std::string>{"cat", "dog"});
  CATCH_REQUIRE(d.images.size() == 2);
  CATCH_CHECK(d.images[0].boxes.size() == 2);  // the horse is not a class
  CATCH_CHECK(d.images[0].boxes[0].xyxy == std::array<double, 4>{0, 0, 100, 80});
  CATCH_CHECK(d.images[0].boxes[1].ignore);
  CATCH_CHECK(d.images[1].boxes[0].xyxy == std::array<double, 4>{39, 29, 50, 40});  // clipped
  const std::string warnings = fmt::format("{}", fmt::join(d.warnings, "\n"));
  CATCH_CHECK_THAT(warnings, Catch::Contains("'horse', not one of the 2 classes (cat, dog), left out"));
  CATCH_CHECK_THAT(warnings, Catch::Contains("b.xml: object 1: a box reaches outside the 50 x 40 image; clipped"));
  const auto set = lidere::datasets::to_coco_set(d);
  CATCH_CHECK(set.annotations[1].iscrowd);  // difficult -> a crowd region in evaluation

  write(root / "ImageSets/Main/val.txt", "c\n");
  CATCH_CHECK_THAT(thrown_message<lidere::InputError>([&] { open_detection_dataset(root.string(), "val"); }),
                   Catch::Contains("val.txt: 'c' has no image in"));
  CATCH_CHECK_THAT(thrown_message<lidere::InputError>([&] { open_detection_dataset(root.string(), "test"); }),
                   Catch::Contains("no split list for 'test'"));
  touch_image(root / "JPEGImages/c.jpg");
  CATCH_CHECK_THAT(thrown_message<lidere::InputError>([&] { open_detection_dataset(root.string(), "val"); }),
                   Catch::Contains("'c' has no annotation"));
}

CATCH_TEST_CASE("Detection datasets: COCO layout keeps its category ids; a folder of nothing is named", "[unit]") {
  const fs::path root = lidere::testing::scratch_dir("coco_detection");
  touch_image(root / "val2017/1.jpg");
  write(root / "annotations/instances_val2017.json", R"({
    "images": [{"id": 7, "file_name": "1.jpg", "width": 64, "height": 48}],
    "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}],
    "annotations": [{"id": 1, "image_id": 7, "category_id": 90, "bbox": [60, 40, 10, 10], "area": 30, "iscrowd": 0},
                    {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 20, 20], "area": 300, "iscrowd": 1}]})");
  write(root / "val2017/.keep", "");
  const auto d = open_detection_dataset(root.string(), "val2017");
  CATCH_CHECK(d.format == "coco");
  CATCH_CHECK(d.class_names == std::vector<std::string>{"person", "toothbrush"});
  CATCH_CHECK(d.category_ids == std::vector<std::int64_t>{1, 90});
  CATCH_REQUIRE(d.images.size() == 1);
  CATCH_CHECK(d.images[0].file == root / "val2017/1.jpg");
  CATCH_REQUIRE(d.images[0].boxes.size() == 2);
  CATCH_CHECK(d.images[0].boxes[0].class_index == 1);
  CATCH_CHECK(d.images[0].boxes[0].xyxy == std::array<double, 4>{60, 40, 64, 48});  // clipped
  CATCH_CHECK(d.images[0].boxes[0].area == 30);
  CATCH_CHECK(d.images[0].boxes[1].ignore);

  const fs::path empty = lidere::testing::scratch_dir("no_detection");
  CATCH_CHECK_THAT(thrown_message<lidere::InputError>([&] { open_detection_dataset(empty.string(), "train"); }),
                   Catch::Contains("not a detection dataset for split 'train'"));
}
