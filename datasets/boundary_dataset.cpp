#include "datasets/boundary_dataset.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/image_files.h"
#include "core/image_io.h"
#include "core/parallel.h"
#include "datasets/bsds.h"
#include "datasets/segmentation.h"

namespace lidere::datasets {
namespace {

namespace fs = std::filesystem;

fs::path bsds_data_root(const fs::path& root) {
  for (const fs::path& candidate : {root, root / "BSR" / "BSDS500" / "data", root / "BSDS500" / "data"}) {
    if (fs::is_directory(candidate / "groundTruth") && fs::is_directory(candidate / "images")) return candidate;
  }
  throw InputError(fmt::format(
      "{}: not a boundary dataset (expected images/<split>/ and groundTruth/<split>/ as BSDS500)", root.string()));
}

data::Sample decode(const BoundarySample& sample) {
  data::Sample out{read_image_rgb(sample.image), {}};
  const torch::Tensor maps = annotator_boundaries(sample.ground_truth);
  if (maps.size(1) != out.image.size(1) || maps.size(2) != out.image.size(2)) {
    throw InputError(fmt::format("{}: ground truth is {}x{} but its image {} is {}x{}", sample.ground_truth,
                                 maps.size(1), maps.size(2), sample.image, out.image.size(1), out.image.size(2)));
  }
  out.annotation.annotator_maps = data::AnnotatorMaps{maps};
  return out;
}

}  // namespace

BoundaryDataset open_boundary_dataset(const std::string& root_text, const std::string& split) {
  const fs::path root = bsds_data_root(root_text);
  const fs::path gt_dir = root / "groundTruth" / split, image_dir = root / "images" / split;
  for (const fs::path& dir : {gt_dir, image_dir}) {
    if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: no such folder (split '{}')", dir.string(), split));
  }
  std::map<std::string, fs::path> images;
  for (const auto& e : fs::directory_iterator(image_dir)) {
    if (e.is_regular_file() && is_image_file(e.path())) images[e.path().stem().string()] = e.path();
  }
  BoundaryDataset dataset{fmt::format("BSDS500 layout in {}", root.string()), {}};
  for (const auto& e : fs::directory_iterator(gt_dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".mat") continue;
    const auto image = images.find(e.path().stem().string());
    if (image == images.end()) {
      throw InputError(fmt::format("{}: no image {}.* for this ground truth in {}", e.path().string(),
                                   e.path().stem().string(), image_dir.string()));
    }
    dataset.samples.push_back({image->second.string(), e.path().string()});
    images.erase(image);
  }
  if (!images.empty()) {
    throw InputError(fmt::format("{}: no ground truth {}.mat in {}", images.begin()->second.string(),
                                 images.begin()->first, gt_dir.string()));
  }
  if (dataset.samples.empty()) throw InputError(fmt::format("{}: no ground-truth .mat files", gt_dir.string()));
  std::sort(dataset.samples.begin(), dataset.samples.end(),
            [](const BoundarySample& a, const BoundarySample& b) { return a.ground_truth < b.ground_truth; });
  return dataset;
}

std::int64_t validate_boundary_samples(const std::vector<BoundarySample>& samples, const std::string& what) {
  if (samples.empty()) throw InputError(fmt::format("{}: the dataset is empty", what));
  std::vector<std::int64_t> sides(samples.size());
  parallel_for(samples.size(), 0, [&](std::size_t i) {
    const torch::Tensor image = decode(samples[i]).image;
    sides[i] = std::max(image.size(1), image.size(2));
  });
  return *std::max_element(sides.begin(), sides.end());
}

torch::Tensor annotator_boundaries(const std::string& ground_truth) {
  std::vector<torch::Tensor> maps;
  for (const auto& a : read_bsds_ground_truth(ground_truth)) maps.push_back(a.boundaries.to(torch::kUInt8));
  return torch::stack(maps);
}

data::SampleSource boundary_source(std::vector<BoundarySample> samples) {
  auto shared = std::make_shared<const std::vector<BoundarySample>>(std::move(samples));
  return {static_cast<std::int64_t>(shared->size()),
          [shared](std::int64_t i) { return decode((*shared)[static_cast<std::size_t>(i)]); },
          [shared](std::int64_t i) { return (*shared)[static_cast<std::size_t>(i)].image; }};
}

BoundaryLoader::BoundaryLoader(std::vector<BoundarySample> samples, data::LoaderSettings settings)
    : SampleLoader(boundary_source(std::move(samples)), std::move(settings)) {}

}  // namespace lidere::datasets
