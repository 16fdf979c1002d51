// Pictures of results: training curves, confusion matrices, class colours. Plain OpenCV
// drawing, so no plotting library is needed at run time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace lidere {

struct Curve {
  std::string title;
  std::vector<double> x, y;
};

// One panel per curve in a grid, written as PNG. Throws InputError when the file cannot be written.
void plot_curves(const std::vector<Curve>& curves, const std::string& x_label, const std::string& path);

// Precision-recall curves on the unit square with iso-F contours (F = 0.1 ... 0.9), as the BSDS
// benchmark's figures: each curve with its label in the legend and a dot at `best` (e.g. ODS).
struct PrCurve {
  std::string label;
  std::vector<double> recall, precision;
  double best_recall = -1, best_precision = -1;  // < 0: no dot
};
void plot_precision_recall(const std::vector<PrCurve>& curves, const std::string& path);

// A confusion matrix (rows: truth, columns: prediction), each row normalised to sum 1, with the
// class names on the axes and the percentages in the cells.
void plot_confusion(const torch::Tensor& confusion, const std::vector<std::string>& class_names,
                    const std::string& path);

// Distinct colours per class: the Pascal VOC palette (bit-interleaved), black for class 0.
std::vector<std::array<std::uint8_t, 3>> class_palette(std::int64_t classes);

}  // namespace lidere
