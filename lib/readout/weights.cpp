#include "readout/weights.h"

namespace lidere::readout {

LoadReport load_readout_weights(torch::nn::Module& module, const TensorFile& file, bool strict) {
  // The official LayerImplicitAtt stores its (S, T, 8) coordinate input as a parameter "inp".
  constexpr std::string_view kSuffix = "layers.1.inp";
  return load_state_dict(module, file, strict, [&](const std::string& name) {
    return name.size() >= kSuffix.size() && name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
  });
}

}  // namespace lidere::readout
