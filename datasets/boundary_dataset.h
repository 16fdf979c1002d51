// Boundary-detection datasets in BSDS500's layout:
//   <root>/images/<split>/<id>.jpg        (any image format we read)
//   <root>/groundTruth/<split>/<id>.mat   (every annotator's Boundaries, datasets/bsds.h)
// <root> may also be the BSDS500 download's top folder (BSR/BSDS500/data is then found inside).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/loader.h"

namespace lidere::datasets {

struct BoundarySample {
  std::string image, ground_truth;
};

struct BoundaryDataset {
  std::string description;  // e.g. "BSDS500 layout in ../bsds500", for logs
  std::vector<BoundarySample> samples;
};

// The samples of one split, sorted by id. Throws InputError naming the folder when the layout is
// not there, and the file when a ground truth has no image (or an image no ground truth).
BoundaryDataset open_boundary_dataset(const std::string& root, const std::string& split);

// Decodes every image and ground truth (on all cores) and checks that each annotator's map has
// its image's size; throws InputError naming the file and the problem. Returns the largest image
// side, so that training targets can be kept at least at their own resolution.
std::int64_t validate_boundary_samples(const std::vector<BoundarySample>& samples, const std::string& what);

// The samples as a sample source: each image with every annotator's boundary map
// (data::AnnotatorMaps, (K, H, W) uint8). Throws InputError naming the file when a ground truth has
// another size than its image.
data::SampleSource boundary_source(std::vector<BoundarySample> samples);

// A loader over boundary_source().
class BoundaryLoader : public data::SampleLoader {
 public:
  BoundaryLoader(std::vector<BoundarySample> samples, data::LoaderSettings settings);
};

// Annotator maps (K, H, W) uint8 of one ground-truth file.
torch::Tensor annotator_boundaries(const std::string& ground_truth);

}  // namespace lidere::datasets
