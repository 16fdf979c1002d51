#include "tasks/coco/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <numeric>
#include <thread>
#include <unordered_map>

#include "core/parallel.h"

namespace lidere::tasks::coco {

std::vector<double> numpy_linspace(double start, double stop, std::size_t num) {
  std::vector<double> values(num);
  if (num == 0) return values;
  if (num == 1) return {start};
  const double step = (stop - start) / static_cast<double>(num - 1);
  for (std::size_t i = 0; i < num; ++i) values[i] = static_cast<double>(i) * step + start;
  values.back() = stop;
  return values;
}

Params Params::bbox() {
  Params p;
  p.iou_thresholds = numpy_linspace(0.5, 0.95, 10);
  p.recall_thresholds = numpy_linspace(0.0, 1.0, 101);
  p.max_dets = {1, 10, 100};
  p.areas = {{"all", 0.0, 1e5 * 1e5}, {"small", 0.0, 32.0 * 32.0}, {"medium", 32.0 * 32.0, 96.0 * 96.0},
             {"large", 96.0 * 96.0, 1e5 * 1e5}};
  return p;
}

double box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  const double ga = g[2] * g[3], da = d[2] * d[3];
  const double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) return 0.0;
  const double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) return 0.0;
  const double i = w * h;
  const double u = crowd ? da : da + ga - i;
  return i / u;
}

const std::vector<std::string>& bbox_stat_names() {
  static const std::vector<std::string> names = {"AP",   "AP50", "AP75",  "APs", "APm", "APl",
                                                 "AR1",  "AR10", "AR100", "ARs", "ARm", "ARl"};
  return names;
}

namespace {

// Sorted unique ids and the index of each.
struct IdIndex {
  std::vector<std::int64_t> ids;
  std::unordered_map<std::int64_t, std::size_t> index;
  explicit IdIndex(std::vector<std::int64_t> all) {
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    ids = std::move(all);
    index.reserve(ids.size() * 2);
    for (std::size_t i = 0; i < ids.size(); ++i) index.emplace(ids[i], i);
  }
  // SIZE_MAX for an id that is not there.
  std::size_t find(std::int64_t id) const {
    const auto it = index.find(id);
    return it == index.end() ? SIZE_MAX : it->second;
  }
};

// Objects bucketed by (category, image) cell, each cell in input order: the objects sorted by
// (category, image), stable, with each category's range. Only occupied cells take memory (LVIS-sized
// sets have tens of millions of cells).
struct Cells {
  std::vector<std::size_t> category_start;  // K + 1 offsets into `image` and `object`
  std::vector<std::size_t> image;           // the object's image index
  std::vector<std::size_t> object;          // indices into the input vector
};

Cells bucket(const std::vector<data::CocoObject>& objects, const IdIndex& images, const IdIndex& categories,
             std::size_t& unknown_image, std::size_t& unknown_category) {
  const std::size_t K = categories.ids.size();
  std::vector<std::pair<std::size_t, std::size_t>> cell(objects.size());  // (category, image); K: left out
  Cells cells;
  cells.category_start.assign(K + 1, 0);
  for (std::size_t n = 0; n < objects.size(); ++n) {
    const std::size_t i = images.find(objects[n].image_id);
    const std::size_t k = i == SIZE_MAX ? SIZE_MAX : categories.find(objects[n].category_id);
    if (i == SIZE_MAX) {
      ++unknown_image;
    } else if (k == SIZE_MAX) {
      ++unknown_category;
    }
    cell[n] = {k == SIZE_MAX ? K : k, i};
    if (k != SIZE_MAX) ++cells.category_start[k + 1];
  }
  std::partial_sum(cells.category_start.begin(), cells.category_start.end(), cells.category_start.begin());
  // Counting sort by category, then a stable sort by image within each category.
  std::vector<std::size_t> order(cells.category_start.back());
  std::vector<std::size_t> fill(cells.category_start.begin(), cells.category_start.end() - 1);
  for (std::size_t n = 0; n < objects.size(); ++n) {
    if (cell[n].first < K) order[fill[cell[n].first]++] = n;
  }
  for (std::size_t k = 0; k < K; ++k) {
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(cells.category_start[k]),
                     order.begin() + static_cast<std::ptrdiff_t>(cells.category_start[k + 1]),
                     [&](std::size_t a, std::size_t b) { return cell[a].second < cell[b].second; });
  }
  cells.object = std::move(order);
  cells.image.resize(cells.object.size());
  for (std::size_t j = 0; j < cells.object.size(); ++j) cells.image[j] = cell[cells.object[j]].second;
  return cells;
}

// One detection of a category after per-image matching: its score, its position in its image's
// score order (for the maxDets cuts), and per (area range, IoU threshold) whether it is a true
// positive and whether it is ignored.
struct MatchedDetection {
  double score;
  std::uint32_t rank;
  std::size_t flags;  // offset into the category's flag arrays (A * T each)
};

class CategoryEvaluator {
 public:
  CategoryEvaluator(const Params& params, const data::CocoSet& truth, const std::vector<data::CocoObject>& detections,
                    const Cells& gt_cells, const Cells& dt_cells, EvalResult& result)
      : p_(params), truth_(truth), dets_(detections), gt_cells_(gt_cells), dt_cells_(dt_cells), result_(result) {}

  void run(std::size_t k) {
    const std::size_t A = p_.areas.size(), T = p_.iou_thresholds.size();
    matched_.clear();
    true_positive_.clear();
    ignored_.clear();
    std::vector<std::size_t> not_ignored(A, 0);
    // The occupied cells of the category, in image order.
    std::size_t g = gt_cells_.category_start[k], g_end = gt_cells_.category_start[k + 1];
    std::size_t d = dt_cells_.category_start[k], d_end = dt_cells_.category_start[k + 1];
    while (g < g_end || d < d_end) {
      const std::size_t image = std::min(g < g_end ? gt_cells_.image[g] : SIZE_MAX, d < d_end ? dt_cells_.image[d] : SIZE_MAX);
      const std::size_t g0 = g, d0 = d;
      while (g < g_end && gt_cells_.image[g] == image) ++g;
      while (d < d_end && dt_cells_.image[d] == image) ++d;
      evaluate_image(g0, g, d0, d, not_ignored);
    }
    // Across images: a stable sort by score of the detections in image order, then rank order.
    std::vector<std::size_t> order(matched_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return matched_[a].score > matched_[b].score; });
    for (std::size_t a = 0; a < A; ++a) {
      if (not_ignored[a] == 0) continue;  // -1 stays: no ground truth to recall
      for (std::size_t m = 0; m < p_.max_dets.size(); ++m) {
        for (std::size_t t = 0; t < T; ++t) accumulate(k, a, m, t, order, not_ignored[a]);
      }
    }
  }

 private:
  void evaluate_image(std::size_t g0, std::size_t g1, std::size_t d0, std::size_t d1,
                      std::vector<std::size_t>& not_ignored) {
    const std::size_t A = p_.areas.size(), T = p_.iou_thresholds.size();
    const std::size_t max_det = static_cast<std::size_t>(p_.max_dets.back());
    // Detections by score, stable, cut at the largest maxDets.
    dt_.assign(dt_cells_.object.begin() + static_cast<std::ptrdiff_t>(d0),
               dt_cells_.object.begin() + static_cast<std::ptrdiff_t>(d1));
    std::stable_sort(dt_.begin(), dt_.end(), [&](std::size_t a, std::size_t b) { return dets_[a].score > dets_[b].score; });
    if (dt_.size() > max_det) dt_.resize(max_det);
    const std::size_t G = g1 - g0, D = dt_.size();
    const auto gt = [&](std::size_t g) -> const data::CocoObject& { return truth_.annotations[gt_cells_.object[g0 + g]]; };
    iou_.assign(D * G, 0.0);
    for (std::size_t d = 0; d < D; ++d) {
      for (std::size_t g = 0; g < G; ++g) iou_[d * G + g] = box_iou(dets_[dt_[d]].bbox, gt(g).bbox, gt(g).iscrowd);
    }
    const std::size_t first = matched_.size();
    for (std::size_t d = 0; d < D; ++d) {
      matched_.push_back({dets_[dt_[d]].score, static_cast<std::uint32_t>(d), true_positive_.size()});
      true_positive_.resize(true_positive_.size() + A * T, false);
      ignored_.resize(ignored_.size() + A * T, false);
    }
    gt_ignore_.resize(G);
    gt_order_.resize(G);
    taken_.resize(T * G);
    for (std::size_t a = 0; a < A; ++a) {
      const AreaRange& range = p_.areas[a];
      for (std::size_t g = 0; g < G; ++g) {
        const double area = gt(g).area;
        gt_ignore_[g] = gt(g).iscrowd || area < range.low || area > range.high;
        if (!gt_ignore_[g]) ++not_ignored[a];
      }
      // Ground truth with the ignored ones last, otherwise in file order.
      std::iota(gt_order_.begin(), gt_order_.end(), 0);
      std::stable_sort(gt_order_.begin(), gt_order_.end(),
                       [&](std::size_t x, std::size_t y) { return gt_ignore_[x] < gt_ignore_[y]; });
      std::fill(taken_.begin(), taken_.end(), 0);
      for (std::size_t t = 0; t < T; ++t) {
        const double threshold = std::min(p_.iou_thresholds[t], 1 - 1e-10);
        for (std::size_t d = 0; d < D; ++d) {
          double best = threshold;
          std::ptrdiff_t m = -1;
          for (std::size_t s = 0; s < G; ++s) {
            const std::size_t g = gt_order_[s];
            if (taken_[t * G + s] && !gt(g).iscrowd) continue;
            // Past a match with real ground truth, only ignored ground truth is left: stop.
            if (m > -1 && !gt_ignore_[gt_order_[static_cast<std::size_t>(m)]] && gt_ignore_[g]) break;
            const double v = iou_[d * G + g];
            if (v < best) continue;
            best = v;  // ties: the later ground truth wins, as in pycocotools
            m = static_cast<std::ptrdiff_t>(s);
          }
          const std::size_t flag = matched_[first + d].flags + a * T + t;
          const bool out_of_range = dets_[dt_[d]].area < range.low || dets_[dt_[d]].area > range.high;
          if (m == -1) {
            ignored_[flag] = out_of_range;
            continue;
          }
          const std::size_t g = gt_order_[static_cast<std::size_t>(m)];
          taken_[t * G + static_cast<std::size_t>(m)] = 1;
          // pycocotools records the match as the annotation's id; id 0 reads as "unmatched".
          const bool recorded = gt(g).id != 0;
          true_positive_[flag] = recorded && !gt_ignore_[g];
          ignored_[flag] = gt_ignore_[g] || (!recorded && out_of_range);
        }
      }
    }
  }

  void accumulate(std::size_t k, std::size_t a, std::size_t m, std::size_t t, const std::vector<std::size_t>& order,
                  std::size_t not_ignored) {
    const std::size_t T = p_.iou_thresholds.size(), R = p_.recall_thresholds.size(), K = result_.category_ids.size();
    const std::size_t A = p_.areas.size(), M = p_.max_dets.size();
    const std::uint32_t max_det = static_cast<std::uint32_t>(p_.max_dets[m]);
    recall_points_.clear();
    precision_points_.clear();
    double tp = 0, fp = 0;
    const double npig = static_cast<double>(not_ignored);
    for (const std::size_t n : order) {
      const MatchedDetection& det = matched_[n];
      if (det.rank >= max_det) continue;
      const std::size_t flag = det.flags + a * T + t;
      if (!ignored_[flag]) (true_positive_[flag] ? tp : fp) += 1;
      recall_points_.push_back(tp / npig);
      precision_points_.push_back(tp / (fp + tp + 2.220446049250313e-16));  // np.spacing(1)
    }
    const std::size_t nd = recall_points_.size();
    result_.recall[((t * K + k) * A + a) * M + m] = nd ? recall_points_.back() : 0.0;
    for (std::size_t i = nd; i-- > 1;) {
      if (precision_points_[i] > precision_points_[i - 1]) precision_points_[i - 1] = precision_points_[i];
    }
    for (std::size_t r = 0; r < R; ++r) {
      const auto at = std::lower_bound(recall_points_.begin(), recall_points_.end(), p_.recall_thresholds[r]);
      const std::size_t index = static_cast<std::size_t>(at - recall_points_.begin());
      const std::size_t out = (((t * R + r) * K + k) * A + a) * M + m;
      result_.precision[out] = index < nd ? precision_points_[index] : 0.0;
      if (index >= nd) {
        for (std::size_t rest = r; rest < R; ++rest) result_.precision[(((t * R + rest) * K + k) * A + a) * M + m] = 0.0;
        break;
      }
    }
  }

  const Params& p_;
  const data::CocoSet& truth_;
  const std::vector<data::CocoObject>& dets_;
  const Cells& gt_cells_;
  const Cells& dt_cells_;
  EvalResult& result_;
  // Per category, reused across images.
  std::vector<MatchedDetection> matched_;
  std::vector<bool> true_positive_, ignored_;
  // Per image, reused.
  std::vector<std::size_t> dt_, gt_order_;
  std::vector<double> iou_;
  std::vector<bool> gt_ignore_;
  std::vector<char> taken_;
  std::vector<double> recall_points_, precision_points_;
};

// pycocotools' summarize(): the mean of the entries > -1 (-1 when there are none).
double mean_of_present(const std::vector<double>& values) {
  long double sum = 0;
  std::size_t count = 0;
  for (const double v : values) {
    if (v > -1) {
      sum += v;
      ++count;
    }
  }
  return count ? static_cast<double>(sum / static_cast<long double>(count)) : -1.0;
}

std::size_t index_of(const std::vector<std::int64_t>& values, std::int64_t wanted) {
  const auto it = std::find(values.begin(), values.end(), wanted);
  return it == values.end() ? SIZE_MAX : static_cast<std::size_t>(it - values.begin());
}

std::size_t area_index(const Params& p, const std::string& label) {
  for (std::size_t a = 0; a < p.areas.size(); ++a) {
    if (p.areas[a].label == label) return a;
  }
  return SIZE_MAX;
}

// One summary number: AP (precision) or AR (recall) at one IoU threshold (or all: threshold < 0),
// one area range and one maxDets value.
double summarize(const EvalResult& r, bool ap, double iou_threshold, const std::string& area, std::int64_t max_dets) {
  const std::size_t a = area_index(r.params, area), m = index_of(r.params.max_dets, max_dets);
  if (a == SIZE_MAX || m == SIZE_MAX) return -1.0;
  std::vector<double> values;
  for (std::size_t t = 0; t < r.T(); ++t) {
    if (iou_threshold >= 0 && r.params.iou_thresholds[t] != iou_threshold) continue;
    for (std::size_t k = 0; k < r.K(); ++k) {
      if (ap) {
        for (std::size_t q = 0; q < r.R(); ++q) values.push_back(r.precision_at(t, q, k, a, m));
      } else {
        values.push_back(r.recall_at(t, k, a, m));
      }
    }
  }
  return mean_of_present(values);
}

}  // namespace

EvalResult evaluate_boxes(const data::CocoSet& truth, const std::vector<data::CocoObject>& detections,
                          const Params& params, int threads) {
  std::vector<std::int64_t> image_ids, category_ids;
  for (const auto& image : truth.images) image_ids.push_back(image.id);
  for (const auto& category : truth.categories) category_ids.push_back(category.id);
  const IdIndex images(std::move(image_ids)), categories(std::move(category_ids));

  EvalResult result;
  result.params = params;
  std::sort(result.params.max_dets.begin(), result.params.max_dets.end());
  result.category_ids = categories.ids;
  result.images = images.ids.size();
  const Cells gt_cells = bucket(truth.annotations, images, categories, result.annotations_unknown_image,
                                result.annotations_unknown_category);
  const Cells dt_cells =
      bucket(detections, images, categories, result.detections_unknown_image, result.detections_unknown_category);

  const std::size_t T = result.T(), R = result.R(), K = result.K(), A = result.A(), M = result.M();
  result.precision.assign(T * R * K * A * M, -1.0);
  result.recall.assign(T * K * A * M, -1.0);
  if (K > 0 && !result.params.max_dets.empty()) {
    // One evaluator (and its buffers) per thread; the work items are categories.
    const int workers = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<CategoryEvaluator>> pool;
    std::mutex pool_mutex;
    parallel_for(K, workers, [&](std::size_t k) {
      std::unique_ptr<CategoryEvaluator> evaluator;
      {
        const std::lock_guard<std::mutex> lock(pool_mutex);
        if (!pool.empty()) {
          evaluator = std::move(pool.back());
          pool.pop_back();
        }
      }
      if (!evaluator) {
        evaluator = std::make_unique<CategoryEvaluator>(result.params, truth, detections, gt_cells, dt_cells, result);
      }
      evaluator->run(k);
      const std::lock_guard<std::mutex> lock(pool_mutex);
      pool.push_back(std::move(evaluator));
    });
  }

  // As COCOeval.summarize: stats[0] at maxDets 100 (its default argument), the others by position.
  const auto max_dets_at = [&](std::size_t i) {
    return i < result.params.max_dets.size() ? result.params.max_dets[i] : std::int64_t{-1};
  };
  result.stats = {
      summarize(result, true, -1, "all", 100),          summarize(result, true, 0.5, "all", max_dets_at(2)),
      summarize(result, true, 0.75, "all", max_dets_at(2)), summarize(result, true, -1, "small", max_dets_at(2)),
      summarize(result, true, -1, "medium", max_dets_at(2)), summarize(result, true, -1, "large", max_dets_at(2)),
      summarize(result, false, -1, "all", max_dets_at(0)),  summarize(result, false, -1, "all", max_dets_at(1)),
      summarize(result, false, -1, "all", max_dets_at(2)),  summarize(result, false, -1, "small", max_dets_at(2)),
      summarize(result, false, -1, "medium", max_dets_at(2)), summarize(result, false, -1, "large", max_dets_at(2)),
  };
  const std::size_t all = area_index(result.params, "all");
  for (std::size_t k = 0; k < K; ++k) {
    std::vector<double> values;
    if (all != SIZE_MAX && M > 0) {
      for (std::size_t t = 0; t < T; ++t) {
        for (std::size_t q = 0; q < R; ++q) values.push_back(result.precision_at(t, q, k, all, M - 1));
      }
    }
    result.category_ap.push_back(mean_of_present(values));
  }
  return result;
}

}  // namespace lidere::tasks::coco
