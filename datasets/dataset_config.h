// Finding a segmentation dataset from what users pass to --data:
//
//   a dataset config (.json, or lidere.json inside the folder), paths relative to the file:
//     {"format": "list" | "folder" | "voc",
//      "root": ".",                                    optional
//      "splits": {"train": "train.txt", "val": "val.txt"},  list files / sub-folders / VOC split
//                                                      names; default: the split name itself
//      "classes": ["sky", ...] or "classes.txt",
//      "ignore_index": 255}
//   or a folder whose layout says what it is:
//     VOC           JPEGImages/ + SegmentationClass/ + ImageSets/Segmentation/<split>.txt
//                   (the 21 VOC classes unless classes.txt says otherwise)
//     list files    <split>.txt with "image label" lines (CamVid), class names in classes.txt
//     folders       <split>/images/ + <split>/labels/, class names in classes.txt
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/segmentation.h"

namespace lidere::datasets {

struct SegmentationDataset {
  std::string description;  // e.g. "list files in ../camvid", for logs
  LabelSpace labels;
  std::vector<SegmentationSample> samples;
};

// The samples of one split, with the dataset's classes and ignore index (`ignore_index` >= 0
// overrides the dataset's). Throws InputError naming the file or folder when the split or the
// class names cannot be found or the dataset is empty.
SegmentationDataset open_segmentation_dataset(const std::string& path, const std::string& split,
                                              std::int64_t ignore_index = -1);

// The Pascal VOC class names (background first).
const std::vector<std::string>& voc_class_names();

}  // namespace lidere::datasets
