#include "inference/checkpoint.h"

#include <fmt/format.h>

#include "core/errors.h"
#include "core/state_dict.h"
#include "core/tensor_file.h"
#include "readout/weights.h"

namespace lidere::inference {
namespace {
constexpr const char* kOptimizerPrefix = "optimizer/";
constexpr const char* kBackbonePrefix = "backbone/";
}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [name, t] : checkpoint.model) tensors[name] = t.detach().cpu();
  for (const auto& [name, t] : checkpoint.optimizer) tensors[kOptimizerPrefix + name] = t.detach().cpu();
  for (const auto& [name, t] : checkpoint.backbone) tensors[kBackbonePrefix + name] = t.detach().cpu();
  nlohmann::json meta = checkpoint.meta;
  meta["format"] = kCheckpointFormat;
  save_safetensors(path, tensors, {{"lidere", meta.dump()}});
}

nlohmann::json describe_run(const tasks::Task& task, const readout::ReadoutHead& readout,
                            const nlohmann::json& backbone, const std::vector<std::int64_t>& imgsz,
                            const nlohmann::json& config) {
  return {{"task", task.describe()},
          {"readout", readout::readout_kind_name(readout.kind())},
          {"readout_config", readout::readout_config_to_json(readout.config())},
          {"heads", readout::head_layout_to_json(readout.layout())},
          {"backbone", backbone},
          {"imgsz", imgsz},
          {"config", config}};
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
  if (!checkpoint.meta.is_object() || checkpoint.meta.value("format", std::string()) != kCheckpointFormat) {
    throw InputError(fmt::format("{}: unsupported checkpoint format '{}' (this lidere reads {})", path,
                                 checkpoint.meta.is_object() ? checkpoint.meta.value("format", std::string("?")) : "?",
                                 kCheckpointFormat));
  }
  const auto strip = [](const std::string& name, const char* prefix) {
    return name.substr(std::char_traits<char>::length(prefix));
  };
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind(kOptimizerPrefix, 0) == 0) {
      checkpoint.optimizer[strip(name, kOptimizerPrefix)] = t;
    } else if (name.rfind(kBackbonePrefix, 0) == 0) {
      checkpoint.backbone[strip(name, kBackbonePrefix)] = t;
    } else {
      checkpoint.model[name] = t;
    }
  }
  return checkpoint;
}

readout::HeadLayout checkpoint_heads(const Checkpoint& checkpoint, const std::string& path,
                                     const std::string& legacy_name) {
  try {
    if (checkpoint.meta.contains("heads")) return readout::head_layout_from_json(checkpoint.meta.at("heads"));
    const auto& config = checkpoint.meta.at("readout_config");
    return {{{legacy_name, config.at("classes").get<std::int64_t>(), config.at("out_bias").get<double>()}}, {}};
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: the checkpoint's head layout is incomplete: {}", path, e.what()));
  } catch (const UsageError& e) {
    throw InputError(fmt::format("{}: the checkpoint describes an invalid head layout: {}", path, e.what()));
  }
}

readout::ReadoutHead readout_from_checkpoint(const Checkpoint& checkpoint, const std::string& path,
                                             const readout::HeadLayout* expected) {
  const readout::HeadLayout layout =
      checkpoint_heads(checkpoint, path, expected && expected->single() ? expected->heads[0].name : "logits");
  if (expected && !layout.same_outputs(*expected)) {
    throw InputError(fmt::format("{}: this checkpoint's readout has the heads {}, but the task needs {}", path,
                                 layout.describe(), expected->describe()));
  }
  try {
    const auto kind = readout::parse_readout_kind(checkpoint.meta.at("readout").get<std::string>());
    const auto config = readout::readout_config_from_json(checkpoint.meta.at("readout_config"));
    readout::ReadoutHead head(kind, config, layout);
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

}  // namespace lidere::inference
