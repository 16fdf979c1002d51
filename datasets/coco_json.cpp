#include "datasets/coco_json.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace lidere::datasets {
namespace {

using nlohmann::json;

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the file", file.string()));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(fmt::format("{}: read error", file.string()));
  return text;
}

json parse_json(std::string_view text, const std::string& name) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& error) {
    throw InputError(fmt::format("{}: not valid JSON (byte {}): {}", name, error.byte, error.what()));
  }
}

// Where an entry is, for messages: "FILE: annotations[12]".
struct Where {
  const std::string& name;
  const char* list;
  std::size_t index;
  std::string str() const { return fmt::format("{}: {}[{}]", name, list, index); }
};

const json* field(const json& entry, const char* key) {
  const auto it = entry.find(key);
  return it == entry.end() || it->is_null() ? nullptr : &*it;
}

std::int64_t integer_field(const json& entry, const char* key, const Where& where) {
  const json* value = field(entry, key);
  if (!value) throw InputError(fmt::format("{}: no \"{}\"", where.str(), key));
  if (value->is_number_integer()) {
    if (value->is_number_unsigned() && value->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      throw InputError(fmt::format("{}: \"{}\" is out of range", where.str(), key));
    }
    return value->get<std::int64_t>();
  }
  // Python's json reads 3.0 as a float, which equals (and hashes as) 3 in pycocotools' indexes:
  // whole numbers are ids there, so they are here.
  if (value->is_number_float()) {
    const double v = value->get<double>();
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) return static_cast<std::int64_t>(v);
  }
  throw InputError(fmt::format("{}: \"{}\" must be an integer, got {}", where.str(), key, value->dump()));
}

double number_field(const json& entry, const char* key, const Where& where) {
  const json* value = field(entry, key);
  if (!value) throw InputError(fmt::format("{}: no \"{}\"", where.str(), key));
  if (!value->is_number()) throw InputError(fmt::format("{}: \"{}\" must be a number, got {}", where.str(), key, value->dump()));
  const double v = value->get<double>();
  if (!std::isfinite(v)) throw InputError(fmt::format("{}: \"{}\" is not finite", where.str(), key));
  return v;
}

std::string string_field(const json& entry, const char* key, const Where& where) {
  const json* value = field(entry, key);
  if (!value) return {};
  if (!value->is_string()) throw InputError(fmt::format("{}: \"{}\" must be a string, got {}", where.str(), key, value->dump()));
  return value->get<std::string>();
}

std::array<double, 4> box_field(const json& entry, const Where& where) {
  const json* value = field(entry, "bbox");
  if (!value) throw InputError(fmt::format("{}: no \"bbox\"", where.str()));
  if (!value->is_array() || value->size() != 4) {
    throw InputError(fmt::format("{}: \"bbox\" must be [x, y, width, height], got {}", where.str(),
                                 value->dump().substr(0, 80)));
  }
  std::array<double, 4> box{};
  for (std::size_t i = 0; i < 4; ++i) {
    const json& v = (*value)[i];
    if (!v.is_number()) throw InputError(fmt::format("{}: \"bbox\" must hold 4 numbers, got {}", where.str(), value->dump()));
    box[i] = v.get<double>();
    if (!std::isfinite(box[i])) throw InputError(fmt::format("{}: \"bbox\" is not finite", where.str()));
  }
  return box;
}

bool crowd_field(const json& entry, const Where& where, bool& present) {
  const json* value = field(entry, "iscrowd");
  present = value != nullptr;
  if (!value) return false;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_number_integer() && (value->get<std::int64_t>() == 0 || value->get<std::int64_t>() == 1)) {
    return value->get<std::int64_t>() == 1;
  }
  throw InputError(fmt::format("{}: \"iscrowd\" must be 0 or 1, got {}", where.str(), value->dump()));
}

const json& list_field(const json& root, const char* key, const std::string& name, bool required) {
  static const json empty = json::array();
  const auto it = root.find(key);
  if (it == root.end() || it->is_null()) {
    if (required) throw InputError(fmt::format("{}: no \"{}\" list (not a COCO annotation file?)", name, key));
    return empty;
  }
  if (!it->is_array()) throw InputError(fmt::format("{}: \"{}\" must be a list", name, key));
  return *it;
}

std::vector<double> keypoints_field(const json& entry, const Where& where) {
  const json* value = field(entry, "keypoints");
  if (!value) return {};
  if (!value->is_array() || value->size() % 3 != 0) {
    throw InputError(fmt::format("{}: \"keypoints\" must be a list of x, y, v triples", where.str()));
  }
  std::vector<double> out;
  out.reserve(value->size());
  for (const json& v : *value) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      throw InputError(fmt::format("{}: \"keypoints\" must hold finite numbers", where.str()));
    }
    out.push_back(v.get<double>());
  }
  return out;
}

// One warning per kind, with how often it happened and the first place.
class Warnings {
 public:
  explicit Warnings(std::vector<std::string>* out) : out_(out) {}
  void note(const std::string& kind, const std::string& first) {
    auto& entry = seen_[kind];
    if (entry.count++ == 0) {
      entry.first = first;
      order_.push_back(kind);
    }
  }
  ~Warnings() {
    if (!out_) return;
    for (const auto& kind : order_) {
      const auto& entry = seen_.at(kind);
      out_->push_back(entry.count == 1 ? fmt::format("{}: {}", entry.first, kind)
                                       : fmt::format("{} (and {} more like it): {}", entry.first, entry.count - 1, kind));
    }
  }

 private:
  struct Seen {
    std::size_t count = 0;
    std::string first;
  };
  std::vector<std::string>* out_;
  std::unordered_map<std::string, Seen> seen_;
  std::vector<std::string> order_;
};

}  // namespace

data::CocoSet parse_coco_annotations(std::string_view text, const std::string& name, std::vector<std::string>* warnings) {
  const json root = parse_json(text, name);
  if (!root.is_object()) throw InputError(fmt::format("{}: a COCO annotation file is a JSON object", name));
  Warnings warn(warnings);
  data::CocoSet set;

  const json& images = list_field(root, "images", name, true);
  std::unordered_set<std::int64_t> image_ids;
  for (std::size_t n = 0; n < images.size(); ++n) {
    const Where where{name, "images", n};
    if (!images[n].is_object()) throw InputError(fmt::format("{}: must be an object", where.str()));
    data::CocoImage image;
    image.id = integer_field(images[n], "id", where);
    image.file_name = string_field(images[n], "file_name", where);
    if (field(images[n], "width")) image.width = integer_field(images[n], "width", where);
    if (field(images[n], "height")) image.height = integer_field(images[n], "height", where);
    if (image.width < 0 || image.height < 0) throw InputError(fmt::format("{}: negative width or height", where.str()));
    if (!image_ids.insert(image.id).second) throw InputError(fmt::format("{}: image id {} is listed twice", where.str(), image.id));
    set.images.push_back(std::move(image));
  }

  const json& categories = list_field(root, "categories", name, true);
  std::unordered_set<std::int64_t> category_ids;
  for (std::size_t n = 0; n < categories.size(); ++n) {
    const Where where{name, "categories", n};
    if (!categories[n].is_object()) throw InputError(fmt::format("{}: must be an object", where.str()));
    data::CocoCategory category;
    category.id = integer_field(categories[n], "id", where);
    category.name = string_field(categories[n], "name", where);
    category.supercategory = string_field(categories[n], "supercategory", where);
    if (const json* names = field(categories[n], "keypoints")) {
      if (!names->is_array()) throw InputError(fmt::format("{}: \"keypoints\" must be a list of names", where.str()));
      for (const json& k : *names) {
        if (!k.is_string()) throw InputError(fmt::format("{}: \"keypoints\" must be a list of names", where.str()));
        category.keypoints.push_back(k.get<std::string>());
      }
    }
    if (const json* skeleton = field(categories[n], "skeleton")) {
      const auto bad = [&] {
        return InputError(fmt::format("{}: \"skeleton\" must be a list of [a, b] keypoint numbers (1-based)", where.str()));
      };
      if (!skeleton->is_array()) throw bad();
      for (const json& pair : *skeleton) {
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer() || !pair[1].is_number_integer()) throw bad();
        const std::int64_t a = pair[0].get<std::int64_t>(), b = pair[1].get<std::int64_t>();
        const auto k = static_cast<std::int64_t>(category.keypoints.size());
        if (a < 1 || b < 1 || a > k || b > k) throw bad();
        category.skeleton.push_back({a, b});
      }
    }
    if (!category_ids.insert(category.id).second) {
      throw InputError(fmt::format("{}: category id {} is listed twice", where.str(), category.id));
    }
    set.categories.push_back(std::move(category));
  }

  const json& annotations = list_field(root, "annotations", name, true);
  std::unordered_set<std::int64_t> annotation_ids;
  set.annotations.reserve(annotations.size());
  for (std::size_t n = 0; n < annotations.size(); ++n) {
    const Where where{name, "annotations", n};
    const json& entry = annotations[n];
    if (!entry.is_object()) throw InputError(fmt::format("{}: must be an object", where.str()));
    data::CocoObject object;
    object.id = integer_field(entry, "id", where);
    object.image_id = integer_field(entry, "image_id", where);
    object.category_id = integer_field(entry, "category_id", where);
    object.bbox = box_field(entry, where);
    bool has_crowd = false;
    object.iscrowd = crowd_field(entry, where, has_crowd);
    object.keypoints = keypoints_field(entry, where);
    if (field(entry, "num_keypoints")) object.num_keypoints = integer_field(entry, "num_keypoints", where);
    if (field(entry, "area")) {
      object.area = number_field(entry, "area", where);
    } else {
      object.area = object.bbox[2] * object.bbox[3];
      warn.note("no \"area\": taken as the box's width x height (pycocotools needs the field)", where.str());
    }
    if (!has_crowd) warn.note("no \"iscrowd\": taken as 0", where.str());
    if (!annotation_ids.insert(object.id).second) {
      // pycocotools would read the last annotation of an id for every one of them.
      throw InputError(fmt::format("{}: annotation id {} is used twice", where.str(), object.id));
    }
    if (object.id == 0) {
      warn.note("annotation id 0: pycocotools counts a detection matched to it as unmatched (ids should start at 1); "
                "scored as pycocotools scores it",
                where.str());
    }
    if (!(object.bbox[2] > 0 && object.bbox[3] > 0)) {
      warn.note("a box of zero or negative width or height can never be matched",
                fmt::format("{} ({} x {})", where.str(), object.bbox[2], object.bbox[3]));
    }
    if (!image_ids.count(object.image_id)) {
      warn.note("an image id that is not in \"images\": the annotation is left out",
                fmt::format("{} (image id {})", where.str(), object.image_id));
    }
    if (!category_ids.count(object.category_id)) {
      warn.note("a category id that is not in \"categories\": the annotation is left out",
                fmt::format("{} (category id {})", where.str(), object.category_id));
    }
    set.annotations.push_back(std::move(object));
  }
  return set;
}

data::CocoSet read_coco_annotations(const std::filesystem::path& file, std::vector<std::string>* warnings) {
  return parse_coco_annotations(read_file(file), file.string(), warnings);
}

std::vector<data::CocoObject> parse_coco_results(std::string_view text, const std::string& name,
                                                 std::vector<std::string>* warnings) {
  const json root = parse_json(text, name);
  if (!root.is_array()) {
    throw InputError(fmt::format("{}: a COCO results file is a JSON list of detections "
                                 "({{\"image_id\", \"category_id\", \"bbox\", \"score\"}})",
                                 name));
  }
  Warnings warn(warnings);
  std::vector<data::CocoObject> results;
  results.reserve(root.size());
  for (std::size_t n = 0; n < root.size(); ++n) {
    const Where where{name, "detections", n};
    const json& entry = root[n];
    if (!entry.is_object()) throw InputError(fmt::format("{}: must be an object", where.str()));
    data::CocoObject object;
    object.id = static_cast<std::int64_t>(n) + 1;
    object.image_id = integer_field(entry, "image_id", where);
    object.category_id = integer_field(entry, "category_id", where);
    object.bbox = box_field(entry, where);
    object.score = number_field(entry, "score", where);
    object.area = object.bbox[2] * object.bbox[3];
    object.keypoints = keypoints_field(entry, where);
    if (!(object.bbox[2] > 0 && object.bbox[3] > 0)) {
      warn.note("a box of zero or negative width or height can never be matched",
                fmt::format("{} ({} x {})", where.str(), object.bbox[2], object.bbox[3]));
    }
    results.push_back(std::move(object));
  }
  if (results.empty()) warn.note("no detections (every AP and AR is 0)", name);
  return results;
}

std::vector<data::CocoObject> read_coco_results(const std::filesystem::path& file, std::vector<std::string>* warnings) {
  return parse_coco_results(read_file(file), file.string(), warnings);
}

void check_results_against(const data::CocoSet& truth, const std::vector<data::CocoObject>& results,
                           const std::string& results_name, const std::string& truth_name,
                           std::vector<std::string>* warnings) {
  std::unordered_set<std::int64_t> images, categories;
  for (const auto& image : truth.images) images.insert(image.id);
  for (const auto& category : truth.categories) categories.insert(category.id);
  Warnings warn(warnings);
  for (std::size_t n = 0; n < results.size(); ++n) {
    const Where where{results_name, "detections", n};
    if (!images.count(results[n].image_id)) {
      throw InputError(fmt::format("{}: image id {} is not an image of {}", where.str(), results[n].image_id, truth_name));
    }
    if (!categories.count(results[n].category_id)) {
      warn.note(fmt::format("a category id that is not a category of {}: the detection is left out", truth_name),
                fmt::format("{} (category id {})", where.str(), results[n].category_id));
    }
  }
}

}  // namespace lidere::datasets
