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

// Inputs of the BSDS benchmark other than images. An ultrametric contour map ('doubleSize' format:
// variable `ucm2`, (2H+1, 2W+1) double) sampled at the pixels as the benchmark does
// (ucm2(3:2:end, 3:2:end)): (H, W) float64.
torch::Tensor read_ucm2(const std::string& path);
// Whether a .mat file holds a variable of that name (false for a file that is not a .mat file;
// an InputError naming it for a damaged MAT 5 file: datasets/mat5_structure.h).
bool mat_has_variable(const std::string& path, const char* name);
// A collection of segmentations (variable `segs`, a 1 x K cell of (H, W) label maps): int64 maps.
std::vector<torch::Tensor> read_segs(const std::string& path);

}  // namespace lidere::datasets
