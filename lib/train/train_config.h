// Everything a training run is configured by, as one struct that round-trips through JSON: the
// run folder keeps it as config.json, `--resume` reads it back, and `--set key=value` overrides
// any field by name (values are JSON: numbers, true/false, strings, [lists]).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference/defaults.h"

namespace lidere::train {

struct TrainConfig {
  // what
  std::string task;  // a registered task (tasks/registry.h); empty: the default task
  // The task's own options (tasks/options.h), validated by the task: --set task.KEY=VALUE.
  nlohmann::json task_options = nlohmann::json::object();
  std::string data;  // dataset folder or dataset config (.json)
  std::string train_split = "train", val_split = "val";
  std::string backbone = inference::kDefaultBackbone;
  std::vector<int> layers;                       // ViT blocks to concatenate (empty: official default)
  // The paper's "+LoRA": adapters of this rank on every ViT block's qkv, trained with the readout
  // (0: a frozen backbone); scale lora_alpha / rank. The official defaults are rank 8, alpha 16.
  std::int64_t lora_rank = 0;
  double lora_alpha = 16;
  // The adapters' own peak learning rate (same warm-up and schedule as lr); 0: lr. The readout's
  // lr 0.01 moves every entry of lora_B by about 0.01 a step, enough to spoil the pretrained
  // attention within a few steps (docs/results.md, "LoRA against the frozen backbone").
  double lora_lr = 0;
  // Recompute each ViT block in the backward instead of keeping its activations (with lora_rank):
  // less memory for the same gradients, about a third more time per step.
  bool activation_checkpointing = false;
  std::string readout = "lidere";                // lidere | linear
  std::vector<std::int64_t> imgsz = {256, 256};  // model input rows, cols
  std::int64_t dim = 64, heads = 8;              // readout width and heads
  // The interpolation module's target grid, rows and cols; empty: input / 8 rounded down, as the
  // official 64 x 64 at 512 px and at DINOv2's 518 px (readout/grid.h default_base_grid).
  std::vector<std::int64_t> base_grid;
  // how long and how fast
  std::int64_t iterations = 1000;
  std::int64_t epochs = 0;  // > 0: overrides iterations (epochs x images / batch)
  std::int64_t batch = inference::kDefaultBatch;
  double lr = 1e-3, weight_decay = 0.0;
  std::int64_t warmup = 50;         // linear warm-up iterations (at most a tenth of the run)
  std::string schedule = "cosine";  // cosine | constant
  bool amp = true;                  // bf16 autocast on CUDA (no effect on the CPU)
  // data
  std::string augment = "hflip";         // standard | hflip | none
  double up_factor = 1.5, p_blur = 0.0;  // 'standard' augmentation
  double rotation = 0.0;                 // random rotation of up to this many degrees (not with 'none')
  std::int64_t workers = inference::kDefaultWorkers;  // batches prepared ahead on worker threads
  std::string cache = "auto";            // feature cache: auto (without random crops/colours) | on | off
  std::string cache_dir;                 // default: <project>/.cache/features
  // the interpolation attention's implementation: auto (the fastest exact path for the inputs and
  // device: ops/interp_attention.h) | reference | factorized | cuda
  std::string interp = "auto";
  // bookkeeping
  std::int64_t val_every = 200;  // validate (and keep the best) every N iterations
  std::int64_t save_every = 0;   // write last.safetensors every N iterations (0: val_every)
  std::int64_t val_images = 0;   // validate on the first N images of the split (0: all)
  std::uint64_t seed = 0;
  std::string device = inference::kDefaultDevice;  // cpu | cuda | cuda:N
  std::string project = "runs", name = "train";

  std::int64_t rows() const { return imgsz.at(0); }
  std::int64_t cols() const { return imgsz.at(1); }
  // Throws UsageError naming the field when a value is out of range.
  void validate() const;
};

nlohmann::json to_json(const TrainConfig& config);
// Missing fields keep their defaults; a field of the wrong type is a UsageError naming it, as is an
// unknown field. Run folders written before tasks had their own options kept ignore_index,
// balanced and val_thresholds at the top level: those move into task_options, where the task
// (tasks/options.h) keeps what it knows (`task_keys`: its options and their aliases) and the rest,
// which older versions wrote for every task, is dropped.
TrainConfig config_from_json(const nlohmann::json& json, const std::vector<std::string>& task_keys = {});
// Applies "key=value" overrides of settings (values are JSON where they parse, else text). A key
// that is no setting (task options among them: task.KEY=VALUE, which the task validates) is a
// UsageError listing the settings, unless `unclaimed` collects it.
void apply_overrides(TrainConfig& config, const std::vector<std::string>& assignments,
                     std::vector<std::string>* unclaimed = nullptr);

}  // namespace lidere::train
