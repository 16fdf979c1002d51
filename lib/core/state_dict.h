// Loading a module's weights by name, with a report of every key that does not fit.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "core/tensor_file.h"

namespace lidere {

struct LoadReport {
  std::vector<std::string> missing;     // ours, absent from the file
  std::vector<std::string> unexpected;  // in the file, not ours
  std::vector<std::string> mismatched;  // "name: file (a, b) vs model (c, d)"
  std::vector<std::string> ignored;     // in the file, deliberately not loaded (see `ignorable`)
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string describe() const;         // one line per problem, by name
};

// Every parameter and buffer of `module` under its dotted name.
std::map<std::string, torch::Tensor> state_dict(const torch::nn::Module& module);

// Names in a file that a module deliberately does not store (derived tensors it rebuilds).
using IgnorableKey = std::function<bool(const std::string&)>;

// Copies the file's tensors into `module` by name, casting to the module's dtype. Keys for which
// `ignorable` is true are accepted and listed as ignored. With `strict`, any missing, unexpected
// or mis-shaped key throws InputError naming the file and every such key, and leaves the module
// unchanged; otherwise the matching keys are loaded and the report says what was not.
LoadReport load_state_dict(torch::nn::Module& module, const TensorFile& file, bool strict = true,
                           const IgnorableKey& ignorable = {});

}  // namespace lidere
