// Checkpoints written before tasks declared their heads (lidere 0.1: no "heads", task options at
// the top of the task description) load into the same readout, for both tasks of that version.
#include <torch/torch.h>

#include "core/errors.h"
#include "core/state_dict.h"
#include "inference/checkpoint.h"
#include "tasks/registry.h"
#include "test_common.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

namespace {

// The description lidere 0.1 wrote (apps/lidere/cmd_train.cpp at commit 284624b), minus the
// training bookkeeping that loading does not read.
nlohmann::json legacy_meta(const nlohmann::json& task, std::int64_t classes) {
  nlohmann::json meta = nlohmann::json::parse(R"({
    "backbone": {"description": "EfficientNet-Lite0 (ImageNet); features: blocks 4, 10, 15 (strides 8, 16, 32) on the stride-16 grid",
                 "fingerprint": "b38d89cb65b996c8adf0e23a4b7a8afd", "layers": [], "spec": "efficientnet-lite0"},
    "best": 0.81, "best_step": 200, "format": "lidere-checkpoint-v1", "imgsz": [64, 64],
    "readout": "lidere",
    "readout_config": {"base_grid": [8, 8], "classes": 0, "dim": 64, "feature_channels": 24,
                       "feature_grid": [4, 4], "heads": 8, "key_dim": 2, "out_bias": 0.0,
                       "prior_distance_init": 3.0, "prior_hidden": 32, "queries": "zero_map",
                       "upsample": [2, 2], "value_factor": 2},
    "step": 200})");
  meta["task"] = task;
  meta["readout_config"]["classes"] = classes;
  return meta;
}

}  // namespace

CATCH_TEST_CASE("checkpoints of lidere 0.1 (no head layout) load into the same readout", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("legacy_checkpoints");
  const nlohmann::json seg = {{"task", "seg"}, {"class_names", {"background", "brick", "grass", "gravel"}},
                              {"ignore_index", 255}};
  const nlohmann::json boundary = {{"task", "boundary"}, {"class_names", {"boundary"}}, {"balanced", true},
                                   {"thresholds", 99}, {"max_dist", 0.0075}, {"nms_tolerance", 0.07}};
  for (const auto& [task, classes] : {std::pair{seg, 4}, std::pair{boundary, 1}}) {
    const nlohmann::json meta = legacy_meta(task, classes);
    readout::ReadoutConfig rc = readout::readout_config_from_json(meta.at("readout_config"));
    torch::manual_seed(1);
    readout::ReadoutHead original(readout::ReadoutKind::kLiDeRe, rc);
    inference::Checkpoint checkpoint;
    checkpoint.meta = meta;
    checkpoint.model = state_dict(original.module());
    const std::string path = (dir / (task.at("task").get<std::string>() + ".safetensors")).string();
    inference::save_checkpoint(path, checkpoint);

    const inference::Checkpoint loaded = inference::load_checkpoint(path);
    const auto made = tasks::make_task(tasks::description_for_run(loaded.meta.at("task"), nlohmann::json::object()));
    const readout::HeadLayout heads = made->heads();
    readout::ReadoutHead restored = inference::readout_from_checkpoint(loaded, path, &heads);
    CATCH_CHECK(restored.layout().same_outputs(heads));
    const torch::Tensor features = torch::randn({2, 24, 4, 4});
    torch::NoGradGuard no_grad;
    CATCH_CHECK(torch::equal(original.forward(features).at("logits"), restored.forward(features).at("logits")));
    // The class count still has to fit the task.
    const readout::HeadLayout wrong{{{"logits", classes + 1, 0.0}}, {}};
    CATCH_CHECK_THAT(thrown_message<InputError>([&] { inference::readout_from_checkpoint(loaded, path, &wrong); }),
                     Contains(path) && Contains("heads logits(" + std::to_string(classes) + ")"));
  }
}
