// COCO evaluation of boxes, equal to pycocotools' COCOeval('bbox') (evaluate, accumulate,
// summarize) number for number: the same precision and recall arrays, the same 12 summary
// numbers. What reimplementations get wrong and this keeps as pycocotools does it:
//   - a ground-truth object is ignored iff it is a crowd (an `ignore` field is overwritten);
//   - IoU with a crowd region = intersection / detection area, and a crowd absorbs any number of
//     detections, which are then ignored;
//   - area ranges read the ground truth's `area` field (not w x h), unmatched detections are
//     ignored by their own box area, and the bounds are inclusive;
//   - detections are cut to maxDets per image per category after a stable sort by score, and
//     equal scores keep file order within an image and image-id order across images;
//   - a detection matched to ground truth with annotation id 0 counts as unmatched (pycocotools
//     stores matches as ids in a zero-filled array); the readers warn about id 0;
//   - 101 recall points (numpy's linspace), precision made monotone, searchsorted 'left';
//     categories with no (non-crowd) ground truth in an area range give -1 and are left out of
//     every mean.
// The work is split over categories on threads; the result does not depend on their number.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/coco_objects.h"

namespace lidere::tasks::coco {

struct AreaRange {
  std::string label;  // all, small, medium, large
  double low = 0.0, high = 0.0;
};

struct Params {
  std::vector<double> iou_thresholds;     // T: 0.50:0.05:0.95
  std::vector<double> recall_thresholds;  // R: 0:0.01:1
  std::vector<std::int64_t> max_dets;     // M, ascending: 1, 10, 100
  std::vector<AreaRange> areas;           // A: all, small (< 32^2), medium (< 96^2), large
  // pycocotools' Params(iouType='bbox').
  static Params bbox();
};

// numpy.linspace(start, stop, num) bit for bit: i * ((stop - start) / (num - 1)) + start, the last
// value exactly `stop`.
std::vector<double> numpy_linspace(double start, double stop, std::size_t num);

// IoU of box `d` (a detection) with box `g` (ground truth), boxes as x, y, w, h; with `crowd`, the
// intersection over the detection's area (pycocotools' maskApi bbIou, operation for operation).
double box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd);

struct EvalResult {
  Params params;
  std::vector<std::int64_t> category_ids;  // K, ascending (the ground truth's categories)
  std::size_t images = 0;                  // I: the ground truth's images
  // pycocotools' eval['precision'] (T, R, K, A, M) and eval['recall'] (T, K, A, M), row-major;
  // -1 where a category has no non-ignored ground truth in an area range.
  std::vector<double> precision, recall;
  // COCOeval.stats: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl.
  std::vector<double> stats;
  // Per category: AP over the IoU thresholds, area all, the largest maxDets (-1: no ground
  // truth), as Detectron2's per-category table reads precision.
  std::vector<double> category_ap;
  // What pycocotools leaves out without a word; the caller (who knows the files) reports it.
  std::size_t annotations_unknown_image = 0, annotations_unknown_category = 0;
  std::size_t detections_unknown_image = 0, detections_unknown_category = 0;

  std::size_t T() const { return params.iou_thresholds.size(); }
  std::size_t R() const { return params.recall_thresholds.size(); }
  std::size_t K() const { return category_ids.size(); }
  std::size_t A() const { return params.areas.size(); }
  std::size_t M() const { return params.max_dets.size(); }
  double precision_at(std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m) const {
    return precision[(((t * R() + r) * K() + k) * A() + a) * M() + m];
  }
  double recall_at(std::size_t t, std::size_t k, std::size_t a, std::size_t m) const {
    return recall[((t * K() + k) * A() + a) * M() + m];
  }
};

// The names of COCOeval.stats for boxes, in its order: "AP", "AP50", "AP75", "APs", "APm", "APl",
// "AR1", "AR10", "AR100", "ARs", "ARm", "ARl".
const std::vector<std::string>& bbox_stat_names();

// Evaluates `detections` (results: image_id, category_id, bbox, score; `area` = box w x h, as
// pycocotools' loadRes sets it) against `truth` over the ground truth's images and categories.
// Objects of images or categories the ground truth does not list are left out (and counted in
// the result). `threads` 0: one per core.
EvalResult evaluate_boxes(const data::CocoSet& truth, const std::vector<data::CocoObject>& detections,
                          const Params& params = Params::bbox(), int threads = 0);

}  // namespace lidere::tasks::coco
