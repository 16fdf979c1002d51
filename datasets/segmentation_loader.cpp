#include "datasets/segmentation_loader.h"

#include <memory>

namespace lidere::datasets {
namespace {

SampleSource segmentation_source(std::vector<SegmentationSample> samples) {
  auto shared = std::make_shared<const std::vector<SegmentationSample>>(std::move(samples));
  const auto decode = [shared](std::int64_t i) {
    auto [image, label] = read_sample((*shared)[static_cast<std::size_t>(i)]);
    return ImageAndTarget{image, label};
  };
  return {static_cast<std::int64_t>(shared->size()), decode, decode,
          [shared](std::int64_t i) { return (*shared)[static_cast<std::size_t>(i)].image; }};
}

}  // namespace

SegmentationLoader::SegmentationLoader(std::vector<SegmentationSample> samples, LoaderSettings settings)
    : SampleLoader(segmentation_source(std::move(samples)), std::move(settings)) {}

}  // namespace lidere::datasets
