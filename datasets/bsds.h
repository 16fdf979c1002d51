// BSDS500 ground truth: one .mat file (MATLAB 5, compressed) per image holding the variable
// `groundTruth`, a 1 x K cell with one struct per human annotator, fields `Segmentation` (H x W
// uint16 region labels from 1) and `Boundaries` (H x W logical). Read with libmatio.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace lidere::datasets {

struct BsdsAnnotation {
  torch::Tensor segmentation;  // (H, W) int64 region labels
  torch::Tensor boundaries;    // (H, W) bool
};

// Every annotator's maps, in file order. Throws InputError naming the file when it is missing,
// not a MAT file, has no `groundTruth` cell, or an entry lacks a field or has another size than
// the first.
std::vector<BsdsAnnotation> read_bsds_ground_truth(const std::string& path);

// The official soft boundary target: the mean of the annotators' boundary maps, (H, W) float32.
torch::Tensor mean_boundaries(const std::vector<BsdsAnnotation>& annotations);

}  // namespace lidere::datasets
