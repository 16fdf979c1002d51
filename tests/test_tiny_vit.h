// Small random ViTs for tests that need a real transformer (LoRA, checkpointing, input sizes) but
// not its weights: 32 wide, 2 blocks, 2 heads unless the test says otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "backbones/vit.h"
#include "backbones/vit_backbone.h"

namespace lidere::testing {

inline backbones::VitConfig tiny_vit_config(std::int64_t patch = 8) {
  backbones::VitConfig c;
  c.hidden = 32;
  c.depth = 2;
  c.heads = 2;
  c.intermediate = 64;
  c.patch = patch;
  return c;
}

// Every weight drawn from N(0, std): the module's own initialisation leaves a tiny ViT's features
// nearly constant, which would hide what adapters or a readout change.
inline void randomize(torch::nn::Module& module, double std = 0.2) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.normal_(0, std);
}

// `config`'s ViT seeded with `seed` (randomised when `std` > 0) as a backbone tapping `taps`.
inline std::unique_ptr<backbones::VitBackbone> tiny_vit_backbone(const backbones::VitConfig& config,
                                                                 backbones::VitLayout layout, std::uint64_t seed,
                                                                 double std = 0.2, std::vector<int> taps = {0}) {
  torch::manual_seed(seed);
  backbones::VisionTransformer vit(config);
  if (std > 0) randomize(*vit, std);
  return std::make_unique<backbones::VitBackbone>(backbones::LoadedVit{vit, layout, ""}, std::move(taps));
}

}  // namespace lidere::testing
