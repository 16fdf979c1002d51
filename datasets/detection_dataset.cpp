#include "datasets/detection_dataset.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "core/image_files.h"
#include "datasets/coco_json.h"
#include "datasets/segmentation.h"
#include "datasets/voc_xml.h"

namespace fs = std::filesystem;

namespace lidere::datasets {

const std::vector<std::string>& voc_object_classes() {
  static const std::vector<std::string> names = {
      "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",         "car",   "cat",       "chair",  "cow",
      "diningtable", "dog",   "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"};
  return names;
}

namespace {

// The first word of each non-blank line (VOC's per-class lists add " 1" / "-1" after the id).
std::vector<std::string> read_split_list(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("{}: cannot open the split list", file.string()));
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    if (words >> first) names.push_back(first);
  }
  return names;
}

// Images of a folder by file stem.
std::unordered_map<std::string, fs::path> images_by_stem(const fs::path& folder) {
  std::unordered_map<std::string, fs::path> found;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && is_image_file(entry.path())) found.emplace(entry.path().stem().string(), entry.path());
  }
  return found;
}

// Clips a box to the image where its size is known; false when nothing is left.
bool clip_box(std::array<double, 4>& b, std::int64_t width, std::int64_t height, const std::string& where,
              std::vector<std::string>& warnings, std::size_t& clipped) {
  if (width > 0 && height > 0) {
    const std::array<double, 4> before = b;
    b[0] = std::clamp(b[0], 0.0, static_cast<double>(width));
    b[2] = std::clamp(b[2], 0.0, static_cast<double>(width));
    b[1] = std::clamp(b[1], 0.0, static_cast<double>(height));
    b[3] = std::clamp(b[3], 0.0, static_cast<double>(height));
    if (b != before && clipped++ == 0) {
      warnings.push_back(fmt::format("{}: a box reaches outside the {} x {} image; clipped to it (further such boxes "
                                     "are clipped without a word)",
                                     where, width, height));
    }
  }
  if (b[2] > b[0] && b[3] > b[1]) return true;
  warnings.push_back(fmt::format("{}: a box with no area ({}, {}, {}, {}) is left out", where, b[0], b[1], b[2], b[3]));
  return false;
}

struct VocLayout {
  std::string format;
  fs::path images, annotations, split_list;
};

// Which VOC layout `root` has for `split`, or format "" when neither.
VocLayout voc_layout(const fs::path& root, const std::string& split) {
  if (fs::is_directory(root / "JPEGImages") && fs::is_directory(root / "Annotations")) {
    return {"voc", root / "JPEGImages", root / "Annotations", root / "ImageSets" / "Main" / (split + ".txt")};
  }
  if (fs::is_directory(root / "images") && fs::is_directory(root / "annotations") && fs::exists(root / (split + ".txt"))) {
    return {"voc-flat", root / "images", root / "annotations", root / (split + ".txt")};
  }
  return {};
}

std::vector<std::string> voc_classes(const fs::path& root, const fs::path& annotations) {
  if (fs::exists(root / "classes.txt")) return read_class_names((root / "classes.txt").string());
  std::set<std::string> names;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(annotations)) {
    if (entry.is_regular_file() && entry.path().extension() == ".xml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    for (const auto& object : read_voc_xml(file).objects) names.insert(object.name);
  }
  const auto& voc = voc_object_classes();
  if (!names.empty() && std::all_of(names.begin(), names.end(), [&](const std::string& n) {
        return std::find(voc.begin(), voc.end(), n) != voc.end();
      })) {
    return voc;
  }
  return {names.begin(), names.end()};
}

DetectionDataset open_voc(const fs::path& root, const std::string& split, const VocLayout& layout) {
  if (!fs::exists(layout.split_list)) {
    throw InputError(fmt::format("{}: no split list for '{}' ({} is missing)", root.string(), split, layout.split_list.string()));
  }
  DetectionDataset d;
  d.format = layout.format;
  d.description = fmt::format("Pascal VOC{} in {}, split {}", layout.format == "voc" ? "" : " (flat)", root.string(), split);
  d.class_names = voc_classes(root, layout.annotations);
  if (d.class_names.empty()) throw InputError(fmt::format("{}: no class names (no objects, no classes.txt)", root.string()));
  for (std::size_t c = 0; c < d.class_names.size(); ++c) d.category_ids.push_back(static_cast<std::int64_t>(c) + 1);
  std::unordered_map<std::string, std::int64_t> class_of;
  for (std::size_t c = 0; c < d.class_names.size(); ++c) class_of.emplace(d.class_names[c], static_cast<std::int64_t>(c));
  const auto images = images_by_stem(layout.images);
  std::map<std::string, std::size_t> unknown_names;
  std::size_t clipped = 0;
  for (const std::string& name : read_split_list(layout.split_list)) {
    const auto image = images.find(name);
    if (image == images.end()) {
      throw InputError(fmt::format("{}: '{}' has no image in {}", layout.split_list.string(), name, layout.images.string()));
    }
    const fs::path xml = layout.annotations / (name + ".xml");
    if (!fs::exists(xml)) throw InputError(fmt::format("{}: '{}' has no annotation {}", layout.split_list.string(), name, xml.string()));
    const VocAnnotation a = read_voc_xml(xml);
    DetectionImage out;
    out.file = image->second;
    out.id = static_cast<std::int64_t>(d.images.size()) + 1;
    out.width = a.width;
    out.height = a.height;
    for (std::size_t n = 0; n < a.objects.size(); ++n) {
      const VocObject& object = a.objects[n];
      const auto c = class_of.find(object.name);
      if (c == class_of.end()) {
        ++unknown_names[object.name];
        continue;
      }
      DetectionBox box;
      box.xyxy = from_voc_corners(object.corners);
      box.class_index = c->second;
      box.ignore = object.difficult;
      if (clip_box(box.xyxy, a.width, a.height, fmt::format("{}: object {}", xml.string(), n + 1), d.warnings, clipped)) {
        out.boxes.push_back(box);
      }
    }
    d.images.push_back(std::move(out));
  }
  for (const auto& [name, count] : unknown_names) {
    d.warnings.push_back(fmt::format("{}: {} object(s) named '{}', not one of the {} classes ({}), left out",
                                     layout.annotations.string(), count, name, d.class_names.size(),
                                     fmt::join(d.class_names, ", ")));
  }
  if (d.images.empty()) throw InputError(fmt::format("{}: the split list has no images", layout.split_list.string()));
  return d;
}

// The COCO annotation file of a split and the folder its file names are relative to.
bool coco_layout(const fs::path& path, const std::string& split, fs::path& json, fs::path& images) {
  if (fs::is_regular_file(path) && path.extension() == ".json") {
    json = path;
    const fs::path dir = path.parent_path();
    images = fs::is_directory(dir / "images") ? dir / "images" : dir;
    return true;
  }
  for (const fs::path& candidate : {path / "annotations" / ("instances_" + split + ".json"), path / (split + ".json"),
                                   path / "annotations" / (split + ".json")}) {
    if (fs::is_regular_file(candidate)) {
      json = candidate;
      images = path;
      for (const fs::path& folder : {path / split, path / "images" / split, path / "images"}) {
        if (fs::is_directory(folder)) {
          images = folder;
          break;
        }
      }
      return true;
    }
  }
  return false;
}

DetectionDataset open_coco(const fs::path& json, const fs::path& image_dir, const std::string& split) {
  DetectionDataset d;
  d.format = "coco";
  d.description = fmt::format("COCO {} (images in {}), split {}", json.string(), image_dir.string(), split);
  const data::CocoSet set = read_coco_annotations(json, &d.warnings);
  std::vector<const data::CocoCategory*> categories;
  for (const auto& c : set.categories) categories.push_back(&c);
  std::sort(categories.begin(), categories.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::unordered_map<std::int64_t, std::int64_t> class_of;
  for (const auto* c : categories) {
    class_of.emplace(c->id, static_cast<std::int64_t>(d.class_names.size()));
    d.class_names.push_back(c->name.empty() ? fmt::format("category_{}", c->id) : c->name);
    d.category_ids.push_back(c->id);
  }
  if (d.class_names.empty()) throw InputError(fmt::format("{}: no categories", json.string()));
  std::unordered_map<std::int64_t, std::size_t> image_of;
  for (const auto& image : set.images) {
    if (image.file_name.empty()) throw InputError(fmt::format("{}: image id {} has no file_name", json.string(), image.id));
    image_of.emplace(image.id, d.images.size());
    DetectionImage out;
    out.file = image_dir / image.file_name;
    out.id = image.id;
    out.width = image.width;
    out.height = image.height;
    d.images.push_back(std::move(out));
  }
  std::size_t clipped = 0;
  for (std::size_t n = 0; n < set.annotations.size(); ++n) {
    const auto& a = set.annotations[n];
    const auto image = image_of.find(a.image_id);
    const auto c = class_of.find(a.category_id);
    if (image == image_of.end() || c == class_of.end()) continue;  // warned by the reader
    DetectionImage& target = d.images[image->second];
    DetectionBox box;
    box.xyxy = {a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]};
    box.class_index = c->second;
    box.ignore = a.iscrowd;
    box.area = a.area;
    if (clip_box(box.xyxy, target.width, target.height, fmt::format("{}: annotations[{}]", json.string(), n), d.warnings,
                 clipped)) {
      target.boxes.push_back(box);
    }
  }
  if (d.images.empty()) throw InputError(fmt::format("{}: no images", json.string()));
  return d;
}

}  // namespace

DetectionDataset open_detection_dataset(const std::string& path, const std::string& split) {
  const fs::path root(path);
  if (!fs::exists(root)) throw InputError(fmt::format("{}: no such file or folder", path));
  fs::path json, images;
  if (coco_layout(root, split, json, images)) return open_coco(json, images, split);
  if (fs::is_directory(root)) {
    const VocLayout layout = voc_layout(root, split);
    if (!layout.format.empty()) return open_voc(root, split, layout);
  }
  throw InputError(fmt::format(
      "{}: not a detection dataset for split '{}' (expected Pascal VOC: JPEGImages/ + Annotations/ + "
      "ImageSets/Main/{}.txt; VOC flat: images/ + annotations/ + {}.txt; or COCO: annotations/instances_{}.json)",
      path, split, split, split, split));
}

data::CocoSet to_coco_set(const DetectionDataset& dataset) {
  data::CocoSet set;
  for (std::size_t c = 0; c < dataset.class_names.size(); ++c) {
    set.categories.push_back({dataset.category_ids[c], dataset.class_names[c], "", {}, {}});
  }
  std::int64_t id = 1;
  for (const auto& image : dataset.images) {
    set.images.push_back({image.id, image.file.filename().string(), image.width, image.height});
    for (const auto& box : image.boxes) {
      data::CocoObject o;
      o.id = id++;
      o.image_id = image.id;
      o.category_id = dataset.category_ids[static_cast<std::size_t>(box.class_index)];
      o.bbox = {box.xyxy[0], box.xyxy[1], box.xyxy[2] - box.xyxy[0], box.xyxy[3] - box.xyxy[1]};
      o.area = box.area >= 0 ? box.area : o.bbox[2] * o.bbox[3];
      o.iscrowd = box.ignore;
      set.annotations.push_back(std::move(o));
    }
  }
  return set;
}

}  // namespace lidere::datasets
