#include "datasets/dataset_config.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace lidere::datasets {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_config(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("{}: cannot open the dataset config", file.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON: {}", file.string(), e.what()));
  }
}

std::vector<SegmentationSample> split_samples(const std::string& format, const fs::path& root,
                                              const std::string& split_entry) {
  if (format == "list") return samples_from_list((root / split_entry).string());
  if (format == "folder") return samples_from_folder((root / split_entry).string());
  if (format == "voc") return samples_from_voc(root.string(), split_entry);
  throw InputError(fmt::format("dataset format '{}' is not one of list, folder, voc", format));
}

SegmentationDataset from_config(const fs::path& file, const std::string& split) {
  const nlohmann::json config = read_config(file);
  const fs::path base = file.parent_path();
  SegmentationDataset dataset;
  try {
    const std::string format = config.at("format").get<std::string>();
    const fs::path root = (base / config.value("root", std::string("."))).lexically_normal();
    std::string entry = split;
    if (config.contains("splits")) {
      if (!config["splits"].contains(split)) {
        throw InputError(fmt::format("{}: no split '{}' in \"splits\"", file.string(), split));
      }
      entry = config["splits"][split].get<std::string>();
    }
    const nlohmann::json& classes = config.at("classes");
    dataset.labels.class_names = classes.is_string() ? read_class_names((base / classes.get<std::string>()).string())
                                                     : classes.get<std::vector<std::string>>();
    dataset.labels.ignore_index = config.value("ignore_index", std::int64_t{255});
    dataset.description = fmt::format("{} ({} format, split {})", file.string(), format, split);
    dataset.samples = split_samples(format, root, entry);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: {}", file.string(), e.what()));
  } catch (const InputError& e) {
    // What the config led to (a split list, a folder) is named by the error; the config that
    // pointed there is named here, unless it already is.
    const std::string message = e.what();
    if (message.find(file.string()) != std::string::npos) throw;
    throw InputError(fmt::format("{}: {}", file.string(), message));
  }
  return dataset;
}

std::vector<std::string> classes_txt(const fs::path& root) {
  const fs::path file = root / "classes.txt";
  if (!fs::is_regular_file(file)) {
    throw InputError(
        fmt::format("{}: no class names: add classes.txt (one name per line, in label order) or a "
                    "lidere.json dataset config (docs/datasets.md)",
                    root.string()));
  }
  return read_class_names(file.string());
}

}  // namespace

const std::vector<std::string>& voc_class_names() {
  static const std::vector<std::string> names = {
      "background", "aeroplane", "bicycle",     "bird",  "boat",        "bottle", "bus",
      "car",        "cat",       "chair",       "cow",   "diningtable", "dog",    "horse",
      "motorbike",  "person",    "pottedplant", "sheep", "sofa",        "train",  "tvmonitor"};
  return names;
}

SegmentationDataset open_segmentation_dataset(const std::string& path, const std::string& split,
                                              std::int64_t ignore_index) {
  const fs::path root(path);
  SegmentationDataset dataset;
  if (fs::is_regular_file(root)) {
    dataset = from_config(root, split);
  } else if (!fs::is_directory(root)) {
    throw InputError(fmt::format("{}: no such dataset folder or config file", path));
  } else if (fs::is_regular_file(root / "lidere.json")) {
    dataset = from_config(root / "lidere.json", split);
  } else if (fs::is_directory(root / "JPEGImages") && fs::is_directory(root / "SegmentationClass")) {
    dataset.labels.class_names = fs::exists(root / "classes.txt") ? classes_txt(root) : voc_class_names();
    dataset.description = fmt::format("{} (Pascal VOC layout, split {})", path, split);
    dataset.samples = samples_from_voc(path, split);
  } else if (fs::is_regular_file(root / (split + ".txt"))) {
    dataset.labels.class_names = classes_txt(root);
    dataset.description = fmt::format("{} (list file {}.txt)", path, split);
    dataset.samples = samples_from_list((root / (split + ".txt")).string());
  } else if (fs::is_directory(root / split / "images")) {
    dataset.labels.class_names = classes_txt(root);
    dataset.description = fmt::format("{} (folders {}/images, {}/labels)", path, split, split);
    dataset.samples = samples_from_folder((root / split).string());
  } else {
    throw InputError(
        fmt::format("{}: cannot find split '{}': expected {}.txt (\"image label\" lines), {}/images + "
                    "{}/labels, a Pascal VOC folder, or a lidere.json dataset config",
                    path, split, split, split, split));
  }
  if (ignore_index >= 0) dataset.labels.ignore_index = ignore_index;
  if (dataset.samples.empty()) throw InputError(fmt::format("{}: split '{}' has no images", path, split));
  return dataset;
}

}  // namespace lidere::datasets
