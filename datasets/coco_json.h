// COCO JSON: annotation files (images, categories, annotations) and results files (a list of
// detections with image_id, category_id, bbox, score), as pycocotools reads them.
//
// Checked on reading (InputError naming the file, the entry and the problem): the top-level
// shape, integer ids, boxes of 4 finite numbers, finite scores and areas, unique image, category
// and annotation ids. Warned (the returned `warnings`, each naming the file), where pycocotools
// goes on silently or differently:
//   - annotations of an image or a category the file does not list (pycocotools leaves them out);
//   - annotation id 0 (pycocotools counts a detection matched to it as unmatched);
//   - a box of zero or negative width or height (it can never be matched);
//   - a missing `area` (taken as w x h; pycocotools needs the field) or `iscrowd` (taken as 0).
// Results get ids 1, 2, ... in file order, area = w x h and iscrowd 0, as pycocotools' loadRes.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/coco_objects.h"

namespace lidere::datasets {

// `name` is the file name that messages give.
data::CocoSet parse_coco_annotations(std::string_view text, const std::string& name,
                                     std::vector<std::string>* warnings = nullptr);
data::CocoSet read_coco_annotations(const std::filesystem::path& file, std::vector<std::string>* warnings = nullptr);

std::vector<data::CocoObject> parse_coco_results(std::string_view text, const std::string& name,
                                                 std::vector<std::string>* warnings = nullptr);
std::vector<data::CocoObject> read_coco_results(const std::filesystem::path& file,
                                                std::vector<std::string>* warnings = nullptr);

// Results whose image the annotations do not list are an error (pycocotools: "Results do not
// correspond to current coco set"); results of a category they do not list, a warning (left out).
void check_results_against(const data::CocoSet& truth, const std::vector<data::CocoObject>& results,
                           const std::string& results_name, const std::string& truth_name,
                           std::vector<std::string>* warnings = nullptr);

}  // namespace lidere::datasets
