#include "datasets/segmentation.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/image_files.h"
#include "core/image_io.h"
#include "datasets/label_png.h"

namespace lidere::datasets {
namespace {

namespace fs = std::filesystem;

std::ifstream open_text(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open {}", path, what));
  return in;
}

void require_file(const std::string& path, const std::string& context) {
  if (!fs::is_regular_file(path)) throw InputError(fmt::format("{}: {} does not exist", context, path));
}

}  // namespace

std::vector<SegmentationSample> samples_from_list(const std::string& list_file) {
  auto in = open_text(list_file, "split list");
  const fs::path base = fs::path(list_file).parent_path();
  std::vector<SegmentationSample> samples;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::string image, label, extra;
    if (!(fields >> image)) continue;  // blank line
    if (!(fields >> label) || (fields >> extra)) {
      throw InputError(fmt::format("{}:{}: expected \"image label\", got \"{}\"", list_file, number, line));
    }
    SegmentationSample s{(base / image).string(), (base / label).string()};
    require_file(s.image, fmt::format("{}:{}: image", list_file, number));
    require_file(s.label, fmt::format("{}:{}: label", list_file, number));
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<SegmentationSample> samples_from_folder(const std::string& root) {
  const fs::path images = fs::path(root) / "images", labels = fs::path(root) / "labels";
  for (const auto& dir : {images, labels}) {
    if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: folder dataset needs {}", root, dir.string()));
  }
  std::vector<SegmentationSample> samples;
  for (const auto& entry : fs::directory_iterator(images)) {
    if (!entry.is_regular_file() || !is_image_file(entry.path())) continue;
    const fs::path label = labels / (entry.path().stem().string() + ".png");
    if (!fs::is_regular_file(label)) {
      throw InputError(fmt::format("{}: no label for this image (expected {})", entry.path().string(), label.string()));
    }
    samples.push_back({entry.path().string(), label.string()});
  }
  std::sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) { return a.image < b.image; });
  return samples;
}

std::vector<SegmentationSample> samples_from_voc(const std::string& root, const std::string& split) {
  const fs::path base(root);
  const std::string list = (base / "ImageSets" / "Segmentation" / (split + ".txt")).string();
  if (!fs::is_regular_file(list)) {
    throw InputError(fmt::format("{}: split file for '{}' does not exist ({})", root, split, list));
  }
  auto in = open_text(list, "split file");
  std::vector<SegmentationSample> samples;
  std::string id;
  while (in >> id) {
    SegmentationSample s{(base / "JPEGImages" / (id + ".jpg")).string(),
                         (base / "SegmentationClass" / (id + ".png")).string()};
    require_file(s.image, list + ": image of '" + id + "'");
    require_file(s.label, list + ": label of '" + id + "'");
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<std::string> read_class_names(const std::string& path) {
  auto in = open_text(path, "class list");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    line.erase(std::find_if(line.rbegin(), line.rend(), [](unsigned char c) { return !std::isspace(c); }).base(),
               line.end());
    if (!line.empty()) names.push_back(line);
  }
  if (names.empty()) throw InputError(fmt::format("{}: no class names", path));
  return names;
}

DecodedSample read_sample(const SegmentationSample& sample) {
  DecodedSample decoded{read_image_rgb(sample.image), read_label_png(sample.label)};
  const auto& [image, label] = decoded;
  if (label.size(0) != image.size(1) || label.size(1) != image.size(2)) {
    throw InputError(fmt::format("{}: label is {}x{} but its image {} is {}x{}", sample.label, label.size(0),
                                 label.size(1), sample.image, image.size(1), image.size(2)));
  }
  return decoded;
}

void validate_samples(const std::vector<SegmentationSample>& samples, const LabelSpace& labels,
                      const std::string& what) {
  if (samples.empty()) throw InputError(fmt::format("{}: the dataset is empty", what));
  for (const auto& s : samples) {
    const torch::Tensor label = read_sample(s).label;
    const torch::Tensor bad = ((label >= labels.classes()) & (label != labels.ignore_index)) | (label < 0);
    if (bad.any().item<bool>()) {
      const std::int64_t value = label.masked_select(bad)[0].item<std::int64_t>();
      const std::int64_t count = (label == value).sum().item<std::int64_t>();
      throw InputError(
          fmt::format("{}: label value {} ({} pixels) is not a class (0..{}) nor the ignore index {} "
                      "(if it marks unlabelled pixels: --set ignore_index={} or \"ignore_index\" in "
                      "the dataset's lidere.json)",
                      s.label, value, count, labels.classes() - 1, labels.ignore_index, value));
    }
  }
}

}  // namespace lidere::datasets
