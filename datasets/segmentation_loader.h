// Batches of a segmentation dataset (image and label-map files) for training and evaluation; see
// datasets/loader.h for how batches are drawn.
#pragma once

#include <vector>

#include "datasets/loader.h"
#include "datasets/segmentation.h"

namespace lidere::datasets {

class SegmentationLoader : public SampleLoader {
 public:
  SegmentationLoader(std::vector<SegmentationSample> samples, LoaderSettings settings);
};

}  // namespace lidere::datasets
