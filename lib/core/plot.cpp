#include "core/plot.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace lidere {
namespace {

const cv::Scalar kInk(40, 40, 40), kGrid(225, 225, 225), kLine(180, 110, 30);  // BGR

void write_png(const std::string& path, const cv::Mat& image) {
  if (!cv::imwrite(path, image)) throw InputError(fmt::format("{}: cannot write picture", path));
}

void text(cv::Mat& canvas, const std::string& s, cv::Point at, double scale = 0.4) {
  cv::putText(canvas, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, kInk, 1, cv::LINE_AA);
}

void draw_panel(cv::Mat& canvas, cv::Rect area, const Curve& curve, const std::string& x_label) {
  const int left = area.x + 60, right = area.x + area.width - 15, top = area.y + 30, bottom = area.y + area.height - 40;
  text(canvas, curve.title, {area.x + 60, area.y + 18}, 0.5);
  if (curve.x.empty()) return;
  const auto [xmin_it, xmax_it] = std::minmax_element(curve.x.begin(), curve.x.end());
  const auto [ymin_it, ymax_it] = std::minmax_element(curve.y.begin(), curve.y.end());
  double xmin = *xmin_it, xmax = *xmax_it, ymin = *ymin_it, ymax = *ymax_it;
  if (xmax <= xmin) xmax = xmin + 1;
  if (ymax - ymin < 1e-12) ymin -= 0.5, ymax += 0.5;
  const double pad = 0.05 * (ymax - ymin);
  ymin -= pad, ymax += pad;
  const auto px = [&](double x) { return left + static_cast<int>((x - xmin) / (xmax - xmin) * (right - left)); };
  const auto py = [&](double y) { return bottom - static_cast<int>((y - ymin) / (ymax - ymin) * (bottom - top)); };
  for (int i = 0; i <= 4; ++i) {
    const double y = ymin + (ymax - ymin) * i / 4.0;
    cv::line(canvas, {left, py(y)}, {right, py(y)}, kGrid, 1);
    text(canvas, fmt::format("{:.3g}", y), {area.x + 5, py(y) + 4});
  }
  cv::rectangle(canvas, cv::Point(left, top), cv::Point(right, bottom), kInk, 1);
  text(canvas, fmt::format("{:.0f}", xmin), {left - 5, bottom + 15});
  text(canvas, fmt::format("{:.0f}", xmax), {right - 30, bottom + 15});
  text(canvas, x_label, {(left + right) / 2 - 20, bottom + 30});
  for (std::size_t i = 0; i < curve.x.size(); ++i) {
    const cv::Point p(px(curve.x[i]), py(curve.y[i]));
    if (i > 0) cv::line(canvas, {px(curve.x[i - 1]), py(curve.y[i - 1])}, p, kLine, 2, cv::LINE_AA);
    cv::circle(canvas, p, 3, kLine, cv::FILLED, cv::LINE_AA);
  }
}

}  // namespace

void plot_curves(const std::vector<Curve>& curves, const std::string& x_label, const std::string& path) {
  constexpr int kPanelWidth = 420, kPanelHeight = 300;
  const int columns = std::min<int>(3, std::max<int>(1, static_cast<int>(curves.size())));
  const int rows = (static_cast<int>(curves.size()) + columns - 1) / columns;
  cv::Mat canvas(std::max(1, rows) * kPanelHeight, columns * kPanelWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const int r = static_cast<int>(i) / columns, c = static_cast<int>(i) % columns;
    draw_panel(canvas, {c * kPanelWidth, r * kPanelHeight, kPanelWidth, kPanelHeight}, curves[i], x_label);
  }
  write_png(path, canvas);
}

void plot_precision_recall(const std::vector<PrCurve>& curves, const std::string& path) {
  constexpr int kSide = 480, kLeft = 60, kTop = 20, kLegend = 22;
  const int height = kTop + kSide + 50 + kLegend * static_cast<int>(curves.size());
  cv::Mat canvas(height, kLeft + kSide + 20, CV_8UC3, cv::Scalar(255, 255, 255));
  const auto px = [&](double r) { return kLeft + static_cast<int>(std::lround(r * kSide)); };
  const auto py = [&](double p) { return kTop + kSide - static_cast<int>(std::lround(p * kSide)); };
  for (int i = 0; i <= 10; ++i) {
    cv::line(canvas, {px(i / 10.0), py(0)}, {px(i / 10.0), py(1)}, kGrid, 1);
    cv::line(canvas, {px(0), py(i / 10.0)}, {px(1), py(i / 10.0)}, kGrid, 1);
    text(canvas, fmt::format("{:.1f}", i / 10.0), {px(i / 10.0) - 9, py(0) + 15});
    text(canvas, fmt::format("{:.1f}", i / 10.0), {kLeft - 30, py(i / 10.0) + 4});
  }
  // Iso-F contours: precision = F r / (2 r - F) for r in (F / 2, 1].
  const cv::Scalar iso(150, 200, 150);
  for (int k = 1; k <= 9; ++k) {
    const double f = k / 10.0;
    std::vector<cv::Point> points;
    for (int i = 0; i <= 200; ++i) {
      const double r = f / 2 + (1 - f / 2) * i / 200.0;
      if (2 * r - f <= 1e-9) continue;
      const double p = f * r / (2 * r - f);
      if (p <= 1) points.emplace_back(px(r), py(p));
    }
    cv::polylines(canvas, points, false, iso, 1, cv::LINE_AA);
    text(canvas, fmt::format("F={:.1f}", f), {px(1) - 40, py(f / (2 - f)) - 3}, 0.33);
  }
  cv::rectangle(canvas, cv::Point(px(0), py(1)), cv::Point(px(1), py(0)), kInk, 1);
  text(canvas, "recall", {px(0.5) - 20, py(0) + 32}, 0.45);
  text(canvas, "precision", {5, kTop - 6}, 0.45);
  const cv::Scalar colours[] = {kLine, cv::Scalar(40, 40, 200), cv::Scalar(40, 150, 40), cv::Scalar(150, 40, 150)};
  for (std::size_t c = 0; c < curves.size(); ++c) {
    const PrCurve& curve = curves[c];
    const cv::Scalar colour = colours[c % 4];
    std::vector<cv::Point> points;
    for (std::size_t i = 0; i < curve.recall.size(); ++i) {
      if (curve.recall[i] > 0 || curve.precision[i] > 0)
        points.emplace_back(px(curve.recall[i]), py(curve.precision[i]));
    }
    cv::polylines(canvas, points, false, colour, 2, cv::LINE_AA);
    if (curve.best_recall >= 0) {
      cv::circle(canvas, {px(curve.best_recall), py(curve.best_precision)}, 5, colour, cv::FILLED, cv::LINE_AA);
    }
    const int y = kTop + kSide + 50 + kLegend * static_cast<int>(c);
    cv::line(canvas, {kLeft, y - 4}, {kLeft + 25, y - 4}, colour, 2, cv::LINE_AA);
    text(canvas, curve.label, {kLeft + 32, y}, 0.45);
  }
  write_png(path, canvas);
}

void plot_confusion(const torch::Tensor& confusion, const std::vector<std::string>& class_names,
                    const std::string& path) {
  const auto n = static_cast<int>(confusion.size(0));
  const int cell = std::clamp(600 / std::max(1, n), 18, 60), margin = 130;
  cv::Mat canvas(margin + n * cell + 20, margin + n * cell + 20, CV_8UC3, cv::Scalar(255, 255, 255));
  const torch::Tensor counts = confusion.to(torch::kDouble).cpu();
  const torch::Tensor rows = counts.sum(1, true).clamp_min(1.0);
  const torch::Tensor share = counts / rows;
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      const double v = share[r][c].item<double>();
      const auto shade = static_cast<int>(255 * (1.0 - v));
      const cv::Rect box(margin + c * cell, margin + r * cell, cell, cell);
      cv::rectangle(canvas, box, cv::Scalar(255, shade, shade), cv::FILLED);  // blue scale (BGR)
      cv::rectangle(canvas, box, kGrid, 1);
      if (cell >= 28 && v >= 0.005) {
        cv::putText(canvas, fmt::format("{:.0f}", 100 * v), {box.x + 3, box.y + cell / 2 + 4}, cv::FONT_HERSHEY_SIMPLEX,
                    0.35, v > 0.5 ? cv::Scalar(255, 255, 255) : kInk, 1, cv::LINE_AA);
      }
    }
    const std::string name =
        r < static_cast<int>(class_names.size()) ? class_names[static_cast<std::size_t>(r)] : std::to_string(r);
    text(canvas, name.substr(0, 16), {5, margin + r * cell + cell / 2 + 4});
    // Column names, written vertically: draw horizontally on a strip and rotate it.
    cv::Mat strip(cell, margin - 5, CV_8UC3, cv::Scalar(255, 255, 255));
    text(strip, name.substr(0, 16), {2, cell / 2 + 4});
    cv::Mat rotated;
    cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    rotated.copyTo(canvas(cv::Rect(margin + r * cell, 0, cell, margin - 5)));
  }
  text(canvas, "truth (rows) vs prediction (columns), % of each row", {5, canvas.rows - 5});
  write_png(path, canvas);
}

std::vector<std::array<std::uint8_t, 3>> class_palette(std::int64_t classes) {
  std::vector<std::array<std::uint8_t, 3>> palette;
  for (std::int64_t k = 0; k < classes; ++k) {
    std::array<std::uint8_t, 3> rgb{0, 0, 0};
    std::int64_t id = k;
    for (int bit = 7; id > 0; --bit, id >>= 3) {
      for (int ch = 0; ch < 3; ++ch)
        rgb[static_cast<std::size_t>(ch)] |= static_cast<std::uint8_t>(((id >> ch) & 1) << bit);
    }
    palette.push_back(rgb);
  }
  return palette;
}

}  // namespace lidere
