// Object-detection datasets in the layouts users have, resolved to images with boxes before any
// training starts:
//
//   VOC        <root>/JPEGImages/<id>.jpg, <root>/Annotations/<id>.xml,
//              <root>/ImageSets/Main/<split>.txt (one id per line)
//   VOC, flat  <root>/images/<name>.<ext>, <root>/annotations/<name>.xml, <root>/<split>.txt of base
//              names (the raccoon set of ../shared/datasets)
//   COCO       <root>/annotations/instances_<split>.json (or <root>/<split>.json,
//              <root>/annotations/<split>.json) with images under <root>/<split>/,
//              <root>/images/<split>/ or <root>/images/ (file_name relative to it); or the JSON file
//              itself, its images beside it or in images/
//
// Classes and ids. COCO keeps its category ids (often not contiguous) and lists classes by
// ascending id; VOC classes come from <root>/classes.txt where present, else the 20 Pascal VOC
// classes when every name is one of them, else the sorted names of every XML file in the
// annotations folder (so that every split of a dataset gets the same list), with ids 1..N. The map
// class index <-> category id travels with the run and its outputs.
//
// Boxes are continuous pixel coordinates x0, y0, x1, y1 (datasets/voc_xml.h for VOC's
// convention). VOC `difficult` objects and COCO crowd regions are `ignore` boxes: they count
// neither as objects nor as background, and they are COCO crowd regions in evaluation. Boxes that
// reach outside the image are clipped (warned); boxes with no area left are dropped (warned);
// names not in the class list are dropped (warned), as the official PlantDoc reader drops them.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/coco_objects.h"

namespace lidere::datasets {

struct DetectionBox {
  std::array<double, 4> xyxy{};
  std::int64_t class_index = 0;  // into DetectionDataset::class_names
  bool ignore = false;           // VOC difficult, COCO crowd
  double area = -1;              // COCO's area field; -1: the box's (w x h)
};

struct DetectionImage {
  std::filesystem::path file;
  std::int64_t id = 0;                 // COCO's image id; VOC: position in the split + 1
  std::int64_t width = 0, height = 0;  // as the annotation says (0: unknown until decoded)
  std::vector<DetectionBox> boxes;
};

struct DetectionDataset {
  std::string format;       // "voc", "voc-flat", "coco"
  std::string description;  // e.g. "Pascal VOC (flat) in ../raccoon, split val"
  std::vector<std::string> class_names;
  std::vector<std::int64_t> category_ids;  // per class index
  std::vector<DetectionImage> images;
  std::vector<std::string> warnings;  // each names the file
};

// Throws InputError naming the folder or file when no layout matches, a split list or annotation
// is missing or malformed, or the split has no images.
DetectionDataset open_detection_dataset(const std::string& path, const std::string& split);

// The dataset as a COCO annotation set (for evaluation and conversion): ignore boxes are crowd
// regions, area = the area field or w x h.
data::CocoSet to_coco_set(const DetectionDataset& dataset);

// The 20 Pascal VOC object classes in their usual order (aeroplane ... tvmonitor).
const std::vector<std::string>& voc_object_classes();

}  // namespace lidere::datasets
