// Checkpoints: one safetensors file holding the readout's weights under their own (official)
// names, the optimiser's state under "optimizer/", and a JSON description in the metadata key
// "lidere" (format, task, readout kind and configuration, backbone, input size, training step,
// best metric, the run's configuration). Written atomically, so a run killed while saving leaves
// the previous checkpoint intact.
#pragma once

#include <map>
#include <string>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "readout/readout_head.h"

namespace lidere::train {

inline constexpr const char* kCheckpointFormat = "lidere-checkpoint-v1";

struct Checkpoint {
  nlohmann::json meta;                             // see above; "format" is set on save
  std::map<std::string, torch::Tensor> model;      // readout weights by name
  std::map<std::string, torch::Tensor> optimizer;  // AdamW::state(); empty for inference-only files
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Throws InputError naming the file when it is unreadable, not a lidere checkpoint, or damaged.
Checkpoint load_checkpoint(const std::string& path);

// The readout a checkpoint describes, with its weights loaded (strictly: a missing or misshaped
// tensor is an InputError naming the file and the tensor).
readout::ReadoutHead readout_from_checkpoint(const Checkpoint& checkpoint, const std::string& path);

}  // namespace lidere::train
