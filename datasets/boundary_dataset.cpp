#include "datasets/boundary_dataset.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "core/errors.h"
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

ImageAndTarget decode(const BoundarySample& sample, bool soft_target) {
  ImageAndTarget out{read_image_rgb(sample.image), {}};
  const std::vector<BsdsAnnotation> annotations = read_bsds_ground_truth(sample.ground_truth);
  const auto& first = annotations.front().boundaries;
  if (first.size(0) != out.image.size(1) || first.size(1) != out.image.size(2)) {
    throw InputError(fmt::format("{}: ground truth is {}x{} but its image {} is {}x{}", sample.ground_truth,
                                 first.size(0), first.size(1), sample.image, out.image.size(1), out.image.size(2)));
  }
  if (soft_target) {
    out.target = mean_boundaries(annotations);
  } else {
    std::vector<torch::Tensor> maps;
    for (const auto& a : annotations) maps.push_back(a.boundaries.to(torch::kUInt8));
    out.target = torch::stack(maps);
  }
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
    const torch::Tensor image = decode(samples[i], /*soft_target=*/false).image;
    sides[i] = std::max(image.size(1), image.size(2));
  });
  return *std::max_element(sides.begin(), sides.end());
}

torch::Tensor annotator_boundaries(const std::string& ground_truth) {
  std::vector<torch::Tensor> maps;
  for (const auto& a : read_bsds_ground_truth(ground_truth)) maps.push_back(a.boundaries.to(torch::kUInt8));
  return torch::stack(maps);
}

BoundaryLoader::BoundaryLoader(std::vector<BoundarySample> samples, LoaderSettings settings)
    : SampleLoader(
          [&] {
            auto shared = std::make_shared<const std::vector<BoundarySample>>(std::move(samples));
            return SampleSource{
                static_cast<std::int64_t>(shared->size()),
                [shared](std::int64_t i) { return decode((*shared)[static_cast<std::size_t>(i)], true); },
                [shared](std::int64_t i) { return decode((*shared)[static_cast<std::size_t>(i)], false); },
                [shared](std::int64_t i) { return (*shared)[static_cast<std::size_t>(i)].image; }};
          }(),
          std::move(settings)) {}

}  // namespace lidere::datasets
