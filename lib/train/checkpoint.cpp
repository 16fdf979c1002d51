#include "train/checkpoint.h"

#include <fmt/format.h>

#include "core/errors.h"
#include "core/state_dict.h"
#include "core/tensor_file.h"
#include "readout/weights.h"

namespace lidere::train {
namespace {
constexpr const char* kOptimizerPrefix = "optimizer/";
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [name, t] : checkpoint.model) tensors[name] = t.detach().cpu();
  for (const auto& [name, t] : checkpoint.optimizer) tensors[kOptimizerPrefix + name] = t.detach().cpu();
  nlohmann::json meta = checkpoint.meta;
  meta["format"] = kCheckpointFormat;
  save_safetensors(path, tensors, {{"lidere", meta.dump()}});
}

Checkpoint load_checkpoint(const std::string& path) {
  const TensorFile file = load_safetensors(path);
  if (!file.metadata.count("lidere")) {
    throw InputError(
        fmt::format("{}: not a lidere checkpoint (no 'lidere' metadata; official readout weights "
                    "are loaded with `lidere check-golden` or `inspect`)",
                    path));
  }
  Checkpoint checkpoint;
  try {
    checkpoint.meta = nlohmann::json::parse(file.metadata.at("lidere"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: the checkpoint description is not valid JSON: {}", path, e.what()));
  }
  if (checkpoint.meta.value("format", std::string()) != kCheckpointFormat) {
    throw InputError(fmt::format("{}: unsupported checkpoint format '{}' (this lidere reads {})", path,
                                 checkpoint.meta.value("format", std::string("?")), kCheckpointFormat));
  }
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind(kOptimizerPrefix, 0) == 0) {
      checkpoint.optimizer[name.substr(std::char_traits<char>::length(kOptimizerPrefix))] = t;
    } else {
      checkpoint.model[name] = t;
    }
  }
  return checkpoint;
}

readout::ReadoutHead readout_from_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  try {
    const auto kind = readout::parse_readout_kind(checkpoint.meta.at("readout").get<std::string>());
    const auto config = readout::readout_config_from_json(checkpoint.meta.at("readout_config"));
    readout::ReadoutHead head(kind, config);
    TensorFile weights;
    weights.source = path;
    weights.tensors = checkpoint.model;
    readout::load_readout_weights(head.module(), weights, /*strict=*/true);
    return head;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: the checkpoint description is incomplete: {}", path, e.what()));
  } catch (const UsageError& e) {
    throw InputError(fmt::format("{}: the checkpoint describes an invalid readout: {}", path, e.what()));
  }
}

}  // namespace lidere::train
