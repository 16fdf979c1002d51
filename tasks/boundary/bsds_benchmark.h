// The BSDS500 boundary benchmark (Arbelaez et al., TPAMI 2011), reimplemented to give the numbers
// of the original MATLAB/C++ code (bench/benchmarks in the BSDS500 release):
//   evaluation_bdry_image: per threshold, the boundary map pb >= t, thinned (bwmorph 'thin', Inf),
//     matched to each annotator's boundaries by correspondPixels (maximum distance 0.0075 of the
//     image diagonal); recall counts the matched ground-truth pixels summed over annotators,
//     precision the machine pixels matched to any annotator;
//   collect_eval_bdry: ODS (one threshold for the set, interpolated between thresholds), OIS (each
//     image at its own best threshold, counts summed), AP (precision interpolated at recall 0, 0.01,
//     ..., 1), and the files eval_bdry.txt, eval_bdry_thr.txt, eval_bdry_img.txt.
// Nothing here needs LibTorch; inputs are plain arrays.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lidere::tasks::boundary {

// A binary map, row-major, 0 or 1.
struct BinaryMap {
  int rows = 0, cols = 0;
  std::vector<std::uint8_t> data;
  BinaryMap() = default;
  BinaryMap(int r, int c) : rows(r), cols(c), data(static_cast<std::size_t>(r) * c, 0) {}
  std::uint8_t& at(int r, int c) { return data[static_cast<std::size_t>(r) * cols + c]; }
  std::uint8_t at(int r, int c) const { return data[static_cast<std::size_t>(r) * cols + c]; }
  std::int64_t count() const;
};

// The benchmark's seg2bdry(seg, 'imageSize'): a pixel is a boundary where its label differs from
// the pixel below or to the right (interior pixels also from the one below-right's neighbours, as
// the original's 'doubleSize' corners); seg row-major.
BinaryMap segmentation_boundaries(const std::vector<std::int64_t>& seg, int rows, int cols);

// MATLAB's bwmorph(map, 'thin', Inf): the two-subiteration thinning of Lam, Lee and Suen (1992),
// repeated until nothing changes; pixels outside the map count as 0.
BinaryMap thin(BinaryMap map);

// correspondPixels(a, b, max_dist): a minimum-cost matching between the pixels of a and b within
// max_dist x the image diagonal, where each pixel left unmatched costs the original's outlier cost
// (100 x the maximum distance) and a matched pair its distance (both x 100, rounded, as the
// original's integer costs). matched_a / matched_b mark the matched pixels of each map.
struct Correspondence {
  std::vector<std::uint8_t> matched_a, matched_b;
  std::int64_t matches = 0;
};
Correspondence correspond_pixels(const BinaryMap& a, const BinaryMap& b, double max_dist = 0.0075);

// One image's counts per threshold (the original's *_ev1.txt rows).
struct ImageCounts {
  std::vector<double> thresholds;
  std::vector<std::int64_t> cnt_r, sum_r, cnt_p, sum_p;
};

// The thresholds the original uses for soft maps: linspace(1/(n+1), 1 - 1/(n+1), n).
std::vector<double> default_thresholds(int n);

// evaluation_bdry_image for a soft map pb (row-major, values in [0, 1]) against the annotators'
// boundary maps.
ImageCounts evaluate_image(const std::vector<double>& pb, int rows, int cols, const std::vector<BinaryMap>& truth,
                           const std::vector<double>& thresholds, double max_dist = 0.0075, bool thin_maps = true);

// evaluation_bdry_image for a list of hard boundary maps (the 'segs' input: one map per entry,
// the entry's 1-based index standing in for the threshold).
ImageCounts evaluate_image_maps(const std::vector<BinaryMap>& maps, const std::vector<BinaryMap>& truth,
                                double max_dist = 0.0075, bool thin_maps = true);

struct PrPoint {
  double threshold = 0, recall = 0, precision = 0, f = 0;
};
struct BenchmarkSummary {
  PrPoint ods;    // best F on the summed counts, interpolated between thresholds
  PrPoint ois;    // counts summed at each image's best threshold (threshold unused)
  double ap = 0;  // area under the interpolated PR curve
  std::vector<PrPoint> per_threshold;
  std::vector<PrPoint> per_image;  // each image's best (interpolated) point
};

// collect_eval_bdry over the images' counts (all with the same thresholds).
BenchmarkSummary collect(const std::vector<ImageCounts>& images);

// The original's interpolated maximum of F over a PR curve (maxF in collect_eval_bdry.m).
PrPoint best_f(const std::vector<double>& thresholds, const std::vector<double>& recall,
               const std::vector<double>& precision);
// The original's average precision: precision interpolated linearly at recall 0, 0.01, ..., 1
// over the distinct recalls, zero outside their range, summed x 0.01.
double average_precision(const std::vector<double>& recall, const std::vector<double>& precision);

// Writes eval_bdry.txt, eval_bdry_thr.txt and eval_bdry_img.txt in the original's format.
void write_eval_files(const BenchmarkSummary& summary, const std::string& dir);

}  // namespace lidere::tasks::boundary
