// Loading and saving a readout's weights by the official state-dict names.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "core/tensor_file.h"

namespace lidere::readout {

struct LoadReport {
  std::vector<std::string> missing;     // ours, absent from the file
  std::vector<std::string> unexpected;  // in the file, not ours
  std::vector<std::string> mismatched;  // "name: file (a, b) vs model (c, d)"
  std::vector<std::string> ignored;     // official tensors we rebuild ourselves (coordinates)
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string describe() const;         // one line per problem, by name
};

// Every parameter and buffer of `module` under its dotted name (the official key names).
std::map<std::string, torch::Tensor> state_dict(const torch::nn::Module& module);

// Copies the file's tensors into `module` by name, casting to the module's dtype. Entries of the
// official state dict that we do not store (the interpolation layer's coordinate tensor
// "...layers.1.inp", which is rebuilt) are accepted and listed as ignored. With `strict`, any
// missing, unexpected or mis-shaped key throws InputError naming the file and every such key;
// otherwise the matching keys are loaded and the report says what was not.
LoadReport load_state_dict(torch::nn::Module& module, const TensorFile& file, bool strict = true);

}  // namespace lidere::readout
