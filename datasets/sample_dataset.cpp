#include "datasets/sample_dataset.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/plot.h"
#include "core/rng.h"
#include "datasets/label_png.h"

namespace lidere::datasets {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMaterials[] = {"brick.png", "grass.png", "gravel.png"};
constexpr const char* kBackgrounds[] = {
    "astronaut.png",        "chelsea.png",           "coffee.png", "rocket.jpg", "motorcycle_left.png",
    "motorcycle_right.png", "hubble_deep_field.jpg", "ihc.png",    "retina.jpg"};
constexpr std::uint8_t kIgnore = 255;

cv::Mat read_photo(const fs::path& dir, const char* name, int flags) {
  const fs::path file = dir / name;
  cv::Mat image = cv::imread(file.string(), flags);
  if (image.empty()) {
    throw InputError(
        fmt::format("{}: missing or unreadable sample photo (run scripts/sample_photos.sh, which unpacks "
                    "Debian's python3-skimage)",
                    file.string()));
  }
  return image;
}

// A random window of `photo` scaled to rows x cols.
cv::Mat random_view(const cv::Mat& photo, int rows, int cols, double min_share, Rng& rng) {
  const double share = rng.uniform(min_share, 1.0);
  const int h = std::max(16, static_cast<int>(photo.rows * share)),
            w = std::max(16, static_cast<int>(photo.cols * share));
  const int top = static_cast<int>(rng.below(static_cast<std::uint64_t>(photo.rows - std::min(h, photo.rows) + 1)));
  const int left = static_cast<int>(rng.below(static_cast<std::uint64_t>(photo.cols - std::min(w, photo.cols) + 1)));
  cv::Mat view;
  cv::resize(photo(cv::Rect(left, top, std::min(w, photo.cols), std::min(h, photo.rows))), view, {cols, rows}, 0, 0,
             cv::INTER_AREA);
  return view;
}

// One object's shape as a filled mask: an ellipse or a polygon of 3 to 7 corners.
cv::Mat random_shape(int rows, int cols, Rng& rng) {
  cv::Mat mask = cv::Mat::zeros(rows, cols, CV_8U);
  const double extent = rng.uniform(0.12, 0.3) * std::min(rows, cols);
  const cv::Point centre(static_cast<int>(rng.uniform(extent, cols - extent)),
                         static_cast<int>(rng.uniform(extent, rows - extent)));
  if (rng.chance(0.5)) {
    const cv::Size axes(static_cast<int>(extent), static_cast<int>(extent * rng.uniform(0.5, 1.0)));
    cv::ellipse(mask, centre, axes, rng.uniform(0, 180), 0, 360, cv::Scalar(1), cv::FILLED, cv::LINE_8);
  } else {
    const int corners = 3 + static_cast<int>(rng.below(5));
    std::vector<cv::Point> polygon;
    const double turn = rng.uniform(0, 2 * std::numbers::pi);
    for (int k = 0; k < corners; ++k) {
      const double angle = turn + 2 * std::numbers::pi * k / corners, radius = extent * rng.uniform(0.6, 1.0);
      polygon.emplace_back(centre.x + static_cast<int>(radius * std::cos(angle)),
                           centre.y + static_cast<int>(radius * std::sin(angle)));
    }
    cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{polygon}, cv::Scalar(1), cv::LINE_8);
  }
  return mask;
}

// A composite image (BGR) and its label map (0 background, 1.. materials, 255 borders).
std::pair<cv::Mat, cv::Mat> composite(const std::vector<cv::Mat>& backgrounds, const std::vector<cv::Mat>& materials,
                                      int rows, int cols, Rng& rng) {
  cv::Mat image = random_view(backgrounds[rng.below(backgrounds.size())], rows, cols, 0.4, rng);
  cv::Mat label = cv::Mat::zeros(rows, cols, CV_8U);
  const int objects = 1 + static_cast<int>(rng.below(3));
  for (int o = 0; o < objects; ++o) {
    const auto material = static_cast<int>(rng.below(materials.size()));
    const cv::Mat shape = random_shape(rows, cols, rng);
    const cv::Mat texture = random_view(materials[static_cast<std::size_t>(material)], rows, cols, 0.25, rng);
    const cv::Vec3f tint(static_cast<float>(rng.uniform(0.4, 1.2)), static_cast<float>(rng.uniform(0.4, 1.2)),
                         static_cast<float>(rng.uniform(0.4, 1.2)));
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        if (!shape.at<std::uint8_t>(r, c)) continue;
        const float g = texture.at<std::uint8_t>(r, c);
        image.at<cv::Vec3b>(r, c) =
            cv::Vec3b(cv::saturate_cast<std::uint8_t>(g * tint[0]), cv::saturate_cast<std::uint8_t>(g * tint[1]),
                      cv::saturate_cast<std::uint8_t>(g * tint[2]));
        label.at<std::uint8_t>(r, c) = static_cast<std::uint8_t>(material + 1);
      }
    }
  }
  // Borders between regions are ambiguous by a pixel or two: mark them as ignored, as VOC does.
  cv::Mat grown, shrunk;
  cv::dilate(label, grown, cv::Mat::ones(3, 3, CV_8U));
  cv::erode(label, shrunk, cv::Mat::ones(3, 3, CV_8U));
  label.setTo(kIgnore, grown != shrunk);
  return {image, label};
}

void write_image(const fs::path& file, const cv::Mat& image) {
  fs::create_directories(file.parent_path());
  if (!cv::imwrite(file.string(), image)) throw InputError(fmt::format("{}: cannot write image", file.string()));
}

void write_label(const fs::path& file, const cv::Mat& label) {
  fs::create_directories(file.parent_path());
  const torch::Tensor t = torch::from_blob(label.data, {label.rows, label.cols}, torch::kUInt8).to(torch::kLong);
  auto palette = class_palette(256);
  palette[kIgnore] = {224, 224, 192};  // VOC's colour for "void"
  write_label_png(file.string(), t, palette);
}

}  // namespace

void write_sample_dataset(const SampleDatasetOptions& o) {
  const fs::path photos(o.photos), out(o.out);
  std::vector<cv::Mat> materials, backgrounds;
  for (const char* name : kMaterials) materials.push_back(read_photo(photos, name, cv::IMREAD_GRAYSCALE));
  for (const char* name : kBackgrounds) backgrounds.push_back(read_photo(photos, name, cv::IMREAD_COLOR));
  const int size = static_cast<int>(o.size);
  for (const auto& [split, count, stream] : {std::tuple{"train", o.train, 1}, std::tuple{"val", o.val, 2}}) {
    for (std::int64_t i = 0; i < count; ++i) {
      Rng rng(o.seed, {static_cast<std::uint64_t>(stream), static_cast<std::uint64_t>(i)});
      const auto [image, label] = composite(backgrounds, materials, size, size, rng);
      const std::string stem = fmt::format("{}_{:04}", split, i);
      write_image(out / split / "images" / (stem + ".png"), image);
      write_label(out / split / "labels" / (stem + ".png"), label);
    }
  }
  // Images for `lidere predict`: other sizes and formats than the training data.
  const std::tuple<int, int, const char*> kPredict[] = {
      {240, 320, "jpg"}, {300, 200, "png"}, {384, 512, "bmp"}, {181, 243, "tiff"}};
  int n = 0;
  for (const auto& [rows, cols, ext] : kPredict) {
    Rng rng(o.seed, {3, static_cast<std::uint64_t>(n)});
    write_image(out / "predict" / fmt::format("photo_{}.{}", n++, ext),
                composite(backgrounds, materials, rows, cols, rng).first);
  }
  nlohmann::json config = {{"format", "folder"},
                           {"splits", {{"train", "train"}, {"val", "val"}}},
                           {"classes", {"background", "brick", "grass", "gravel"}},
                           {"ignore_index", kIgnore}};
  std::ofstream(out / "lidere.json") << config.dump(2) << '\n';
}

}  // namespace lidere::datasets
