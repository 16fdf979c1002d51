// Reproducing a golden file of the official implementation ("lidere-golden-v1", see
// ../shared/golden/README.md): build the readout from the file's metadata, load its weights,
// run forward and backward on the stored input and loss, and compare the output, the prior, the
// attention weights and every gradient with the stored tensors.
#pragma once

#include <string>
#include <vector>

namespace lidere::readout {

struct TensorCheck {
  std::string name;      // the golden tensor's name, e.g. "grad.layers.1.proj_v.weight"
  double error = 0;      // max|ours - golden| / max|golden| (or, for exact zeros, max|ours| / scale)
  double tolerance = 0;
  bool passed() const { return error <= tolerance; }
  std::string kind;      // "relative" or "zero" (exact-zero gradient, measured against the
                         // file's largest gradient)
};

struct GoldenReport {
  std::string file;
  std::string model;     // LiDeRe or LiDeReMulti
  std::string dtype;     // float32 or float64
  std::vector<TensorCheck> checks;
  double seconds = 0;
  bool passed() const;
  const TensorCheck* worst() const;  // the check with the largest error / tolerance
};

// Throws InputError (naming the file) when the file is not a valid golden file.
GoldenReport check_golden_file(const std::string& path);

}  // namespace lidere::readout
