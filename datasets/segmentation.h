// Segmentation datasets in the layouts users have, resolved to (image, label) file pairs and
// checked before any training starts, so that a bad file is reported by name up front.
//
//   list file  "image label" per line, paths relative to the list file's folder (CamVid style)
//   folder     <root>/images/<name>.<ext> and <root>/labels/<name>.png, matched by file stem
//   VOC        <root>/JPEGImages/<id>.jpg, <root>/SegmentationClass/<id>.png,
//              <root>/ImageSets/Segmentation/<split>.txt
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lidere::datasets {

struct SegmentationSample {
  std::string image;
  std::string label;
};

struct LabelSpace {
  std::vector<std::string> class_names;
  std::int64_t ignore_index = 255;  // a label value that is not a class and is left out of the loss
  std::int64_t classes() const { return static_cast<std::int64_t>(class_names.size()); }
};

std::vector<SegmentationSample> samples_from_list(const std::string& list_file);
std::vector<SegmentationSample> samples_from_folder(const std::string& root);
std::vector<SegmentationSample> samples_from_voc(const std::string& root, const std::string& split);

// Class names from a text file, one per line (blank lines ignored).
std::vector<std::string> read_class_names(const std::string& path);

// One sample's image (3, H, W) and label (H, W) int64; throws InputError naming the files when
// either does not decode or the label has another size than its image.
struct DecodedSample {
  torch::Tensor image, label;
};
DecodedSample read_sample(const SegmentationSample& sample);

// Reads every image and label and checks: both decode, the label has the image's size, and every
// label value is a class (0 .. classes-1) or the ignore index. Throws InputError naming the file
// and the problem (for values: the offending value and how many pixels have it). An empty list is
// an error too (`what` names the dataset in that message).
void validate_samples(const std::vector<SegmentationSample>& samples, const LabelSpace& labels,
                      const std::string& what);

}  // namespace lidere::datasets
