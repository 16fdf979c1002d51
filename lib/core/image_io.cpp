#include "core/image_io.h"

#include <filesystem>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace lidere {

namespace {

// The file as stored (channels and bit depth kept); InputError naming it when it cannot be read.
cv::Mat decode(const std::string& path) {
  if (!std::filesystem::exists(path)) throw InputError(fmt::format("{}: no such image file", path));
  cv::Mat image;
  try {
    image = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw InputError(fmt::format("{}: cannot decode image ({})", path, e.what()));
  }
  if (image.empty()) throw InputError(fmt::format("{}: cannot decode image (not an image, or corrupt)", path));
  return image;
}

// Writes in the format the extension names; InputError naming the file when it cannot.
void write(const std::string& path, const cv::Mat& image) {
  bool written = false;
  try {
    written = cv::imwrite(path, image);
  } catch (const cv::Exception& e) {
    throw InputError(fmt::format("{}: cannot write image ({})", path, e.what()));
  }
  if (!written) throw InputError(fmt::format("{}: cannot write image", path));
}

}  // namespace

torch::Tensor read_image_rgb(const std::string& path) {
  const cv::Mat image = decode(path);
  cv::Mat rgb;
  switch (image.channels()) {
    case 1:
      cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      throw InputError(fmt::format("{}: unsupported image with {} channels", path, image.channels()));
  }
  const double scale = rgb.depth() == CV_16U ? 1.0 / 65535.0 : rgb.depth() == CV_8U ? 1.0 / 255.0 : 1.0;
  cv::Mat floats;
  rgb.convertTo(floats, CV_32FC3, scale);
  const torch::Tensor hwc = torch::from_blob(floats.data, {floats.rows, floats.cols, 3}, torch::kFloat32);
  return hwc.permute({2, 0, 1}).contiguous();  // copies out of the cv::Mat
}

torch::Tensor read_gray_levels(const std::string& path) {
  const cv::Mat image = decode(path);
  if (image.depth() != CV_8U && image.depth() != CV_16U) {
    throw InputError(fmt::format("{}: a boundary map must be an 8- or 16-bit image", path));
  }
  cv::Mat first;
  cv::extractChannel(image, first, 0);  // OpenCV's BGR order: any channel of a gray map is alike
  cv::Mat levels;
  first.convertTo(levels, CV_64F, image.depth() == CV_16U ? 1.0 / 65535.0 : 1.0 / 255.0);
  return torch::from_blob(levels.data, {levels.rows, levels.cols}, torch::kFloat64).clone();
}

void write_gray_png(const std::string& path, const torch::Tensor& levels, int bits) {
  if (bits != 8 && bits != 16)
    throw UsageError(fmt::format("{}: a map is written with 8 or 16 bits, not {}", path, bits));
  const torch::Tensor values = levels.to(torch::kInt32).clamp(0, bits == 8 ? 255 : 65535).contiguous().cpu();
  cv::Mat out;
  cv::Mat(static_cast<int>(values.size(0)), static_cast<int>(values.size(1)), CV_32S, values.data_ptr())
      .convertTo(out, bits == 8 ? CV_8U : CV_16U);
  write(path, out);
}

void write_image_rgb(const std::string& path, const torch::Tensor& image) {
  torch::Tensor bytes =
      image.is_floating_point() ? (image.clamp(0, 1) * 255.0).round().to(torch::kUInt8) : image.to(torch::kUInt8);
  bytes = bytes.permute({1, 2, 0}).contiguous().cpu();
  const cv::Mat rgb(static_cast<int>(bytes.size(0)), static_cast<int>(bytes.size(1)), CV_8UC3, bytes.data_ptr());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  write(path, bgr);
}

}  // namespace lidere
