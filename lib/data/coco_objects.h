// The COCO object format as plain records: what a COCO annotation file (images, categories,
// annotations) or a COCO results file (detections with scores) holds, for the readers
// (datasets/coco_json.h) and the evaluator (tasks/coco/coco_eval.h). No LibTorch, no parsing here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lidere::data {

struct CocoImage {
  std::int64_t id = 0;
  std::string file_name;
  std::int64_t width = 0, height = 0;  // 0 where the file does not say
};

struct CocoCategory {
  std::int64_t id = 0;
  std::string name;
  std::string supercategory;
  std::vector<std::string> keypoints;                      // keypoint names (person keypoints)
  std::vector<std::array<std::int64_t, 2>> skeleton;       // 1-based keypoint pairs, as COCO
};

// One annotation (ground truth) or one result (a detection: `score`, no `id`, `area` and
// `iscrowd` from its box, as pycocotools' loadRes sets them).
struct CocoObject {
  std::int64_t id = 0;  // annotation id; results get 1, 2, ... in file order
  std::int64_t image_id = 0;
  std::int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height in pixels; x, y = the top-left corner
  double area = 0.0;             // COCO's area field (the segment's area), not always w x h
  bool iscrowd = false;
  double score = 1.0;            // results only
  std::vector<double> keypoints;  // x, y, v triples (keypoint files)
  std::int64_t num_keypoints = 0;
};

struct CocoSet {
  std::vector<CocoImage> images;
  std::vector<CocoCategory> categories;
  std::vector<CocoObject> annotations;
};

}  // namespace lidere::data
