// The COCO JSON readers (annotation files and results files) and the box evaluator behind them:
// every input is read or refused with an InputError naming the file; what is read is evaluated
// (the annotations against themselves as detections, the results against a fixed annotation
// file) without a crash.
#include <string>

#include "core/errors.h"
#include "datasets/coco_json.h"
#include "fuzz/fuzz_target.h"
#include "tasks/coco/coco_eval.h"

namespace lidere::fuzz {

std::vector<Bytes> fuzz_seeds() {
  std::vector<Bytes> seeds;
  for (const std::string text : {
           R"({"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}, {"id": 3}],
               "categories": [{"id": 1, "name": "raccoon"}, {"id": 4, "name": "dog", "supercategory": "animal",
                               "keypoints": ["nose", "tail"], "skeleton": [[1, 2]]}],
               "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 20], "area": 500,
                                "iscrowd": 0},
                               {"id": 2, "image_id": 3, "category_id": 4, "bbox": [0.5, 0, 10, 12.25], "area": 99.5,
                                "iscrowd": 1, "keypoints": [1, 2, 2, 0, 0, 0], "num_keypoints": 1}]})",
           R"([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 20], "score": 0.9},
               {"image_id": 3, "category_id": 4, "bbox": [0, 0, 5, 5], "score": 0.25}])",
           R"([])"}) {
    seeds.emplace_back(text.begin(), text.end());
  }
  return seeds;
}

void fuzz_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const data::CocoSet truth = datasets::parse_coco_annotations(
      R"({"images": [{"id": 1}, {"id": 3}], "categories": [{"id": 1, "name": "a"}, {"id": 4, "name": "b"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 20], "area": 500, "iscrowd": 0},
                          {"id": 2, "image_id": 3, "category_id": 4, "bbox": [0, 0, 10, 12], "area": 120, "iscrowd": 1}]})",
      "fixed.json");
  std::vector<std::string> warnings;
  try {
    const data::CocoSet set = datasets::parse_coco_annotations(text, "fuzz.json", &warnings);
    if (set.images.size() * set.categories.size() <= 1000000) {
      std::vector<data::CocoObject> as_detections = set.annotations;
      for (auto& d : as_detections) d.area = d.bbox[2] * d.bbox[3];
      tasks::coco::evaluate_boxes(set, as_detections, tasks::coco::Params::bbox(), 1);
    }
  } catch (const InputError& e) {
    expect_names(e.what(), "fuzz.json");
  }
  try {
    const auto results = datasets::parse_coco_results(text, "fuzz.json", &warnings);
    datasets::check_results_against(truth, results, "fuzz.json", "fixed.json", &warnings);
    tasks::coco::evaluate_boxes(truth, results, tasks::coco::Params::bbox(), 1);
  } catch (const InputError& e) {
    expect_names(e.what(), "fuzz.json");
  }
  for (const auto& w : warnings) expect_names(w, "fuzz.json");
}

}  // namespace lidere::fuzz
