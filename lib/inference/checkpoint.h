// Checkpoints: one safetensors file holding the readout's weights under their own (official)
// names, the optimiser's state under "optimizer/", the weights of trained backbone parts (LoRA
// adapters) under "backbone/", and a JSON description in the metadata key "lidere" (format, task,
// readout kind, configuration and head layout, backbone, input size, training step, best metric,
// the run's configuration). Written atomically, so a run killed while saving leaves the previous
// checkpoint intact.
#pragma once

#include <map>
#include <string>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "readout/readout_head.h"
#include "tasks/task.h"

namespace lidere::inference {

inline constexpr const char* kCheckpointFormat = "lidere-checkpoint-v1";

struct Checkpoint {
  nlohmann::json meta;                             // see above; "format" is set on save
  std::map<std::string, torch::Tensor> model;      // readout weights by name
  std::map<std::string, torch::Tensor> optimizer;  // AdamW::state(); empty for inference-only files
  std::map<std::string, torch::Tensor> backbone;   // trained backbone parameters by name; usually none
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// What every checkpoint of a run records besides the training state: the task's description, the
// readout (kind, configuration, head layout), the backbone (inference/model.h describe_backbone),
// the input size and the run's configuration.
nlohmann::json describe_run(const tasks::Task& task, const readout::ReadoutHead& readout,
                            const nlohmann::json& backbone, const std::vector<std::int64_t>& imgsz,
                            const nlohmann::json& config);

// Throws InputError naming the file when it is unreadable, not a lidere checkpoint, or damaged.
Checkpoint load_checkpoint(const std::string& path);

// The head layout a checkpoint's readout has: meta["heads"], or for checkpoints written before
// layouts were recorded, one head of readout_config.classes channels named `legacy_name`.
readout::HeadLayout checkpoint_heads(const Checkpoint& checkpoint, const std::string& path,
                                     const std::string& legacy_name = "logits");

// The readout a checkpoint describes, with its weights loaded (strictly: a missing or misshaped
// tensor is an InputError naming the file and the tensor). With `expected`, a readout of another
// head layout is refused (InputError naming the file and both layouts).
readout::ReadoutHead readout_from_checkpoint(const Checkpoint& checkpoint, const std::string& path,
                                             const readout::HeadLayout* expected = nullptr);

}  // namespace lidere::inference
