#include "datasets/segmentation_loader.h"

#include <memory>

namespace lidere::datasets {

data::SampleSource segmentation_source(std::vector<SegmentationSample> samples, std::int64_t ignore_index) {
  auto shared = std::make_shared<const std::vector<SegmentationSample>>(std::move(samples));
  return {static_cast<std::int64_t>(shared->size()),
          [shared, ignore_index](std::int64_t i) {
            auto [image, label] = read_sample((*shared)[static_cast<std::size_t>(i)]);
            data::Sample sample{image, {}};
            sample.annotation.label_map = data::LabelMap{label, ignore_index};
            return sample;
          },
          [shared](std::int64_t i) { return (*shared)[static_cast<std::size_t>(i)].image; }};
}

SegmentationLoader::SegmentationLoader(std::vector<SegmentationSample> samples, data::LoaderSettings settings,
                                       std::int64_t ignore_index)
    : SampleLoader(segmentation_source(std::move(samples), ignore_index), std::move(settings)) {}

}  // namespace lidere::datasets
