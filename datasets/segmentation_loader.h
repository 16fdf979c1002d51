// A segmentation dataset (image and label-map files) as a sample source: each sample's image and
// its label map (data::LabelMap with the dataset's ignore index); see data/loader.h for batches.
#pragma once

#include <cstdint>
#include <vector>

#include "data/loader.h"
#include "datasets/segmentation.h"

namespace lidere::datasets {

data::SampleSource segmentation_source(std::vector<SegmentationSample> samples, std::int64_t ignore_index);

// A loader over segmentation_source().
class SegmentationLoader : public data::SampleLoader {
 public:
  SegmentationLoader(std::vector<SegmentationSample> samples, data::LoaderSettings settings,
                     std::int64_t ignore_index = 255);
};

}  // namespace lidere::datasets
