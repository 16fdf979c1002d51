// Everything a training run is configured by, as one struct that round-trips through JSON: the
// run folder keeps it as config.json, `--resume` reads it back, and `--set key=value` overrides
// any field by name (values are JSON: numbers, true/false, strings, [lists]).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lidere::train {

struct TrainConfig {
  // what
  std::string task = "seg";  // seg | boundary
  std::string data;          // dataset folder or dataset config (.json)
  std::string train_split = "train", val_split = "val";
  std::int64_t ignore_index = -1;    // label value left out of loss and metrics (-1: dataset's)
  bool balanced = false;             // boundary: class-balanced BCE instead of the official unweighted one
  std::int64_t val_thresholds = 99;  // boundary: benchmark thresholds in validation
  std::string backbone = "efficientnet-lite0";
  std::vector<int> layers;                       // ViT blocks to concatenate (empty: official default)
  std::string readout = "lidere";                // lidere | linear
  std::vector<std::int64_t> imgsz = {256, 256};  // model input rows, cols
  std::int64_t dim = 64, heads = 8;              // readout width and heads
  // how long and how fast
  std::int64_t iterations = 1000;
  std::int64_t epochs = 0;  // > 0: overrides iterations (epochs x images / batch)
  std::int64_t batch = 8;
  double lr = 1e-3, weight_decay = 0.0;
  std::int64_t warmup = 50;         // linear warm-up iterations (at most a tenth of the run)
  std::string schedule = "cosine";  // cosine | constant
  bool amp = true;                  // bf16 autocast on CUDA (no effect on the CPU)
  // data
  std::string augment = "hflip";         // standard | hflip | none
  double up_factor = 1.5, p_blur = 0.0;  // 'standard' augmentation
  std::int64_t workers = 2;              // batches prepared ahead on worker threads
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
  std::string device = "cpu";  // cpu | cuda | cuda:N
  std::string project = "runs", name = "train";

  std::int64_t rows() const { return imgsz.at(0); }
  std::int64_t cols() const { return imgsz.at(1); }
  // Throws UsageError naming the field when a value is out of range.
  void validate() const;
};

nlohmann::json to_json(const TrainConfig& config);
// Missing fields keep their defaults; a field of the wrong type is a UsageError naming it.
TrainConfig config_from_json(const nlohmann::json& json);
// Applies "key=value" overrides; an unknown key is a UsageError listing the known ones.
void apply_overrides(TrainConfig& config, const std::vector<std::string>& assignments);

}  // namespace lidere::train
