// Loading readout weights: official state dicts (.pth or safetensors) by their key names.
#pragma once

#include <torch/nn/module.h>

#include "core/state_dict.h"
#include "core/tensor_file.h"

namespace lidere::readout {

// Like lidere::load_state_dict, and accepts the official interpolation layer's coordinate
// tensor ("...layers.1.inp", a pure function of the grids that we rebuild) as ignored.
LoadReport load_readout_weights(torch::nn::Module& module, const TensorFile& file, bool strict = true);

}  // namespace lidere::readout
