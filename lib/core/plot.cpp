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
