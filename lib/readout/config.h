// The readout's hyperparameters. Defaults are the released LiDeRe (method.md section 2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "readout/grid.h"

namespace lidere::readout {

// Where the interpolation layer's queries come from.
enum class QueryMode {
  kZeroMap,     // released: proj_q applied to the all-zero query map, i.e. one learned vector per
                // head, the same for every target (proj_q: Linear(dim, heads * key_dim))
  kPositional,  // paper's variant: proj_q applied to a fixed sin/cos encoding of the target
                // positions (proj_q: Linear(16, heads * key_dim))
};

struct ReadoutConfig {
  std::int64_t feature_channels = 0;  // C: channels of the (concatenated) backbone features
  GridSize feature_grid;              // backbone token grid (image size / feature stride)
  GridSize base_grid;                 // interpolation target grid
  std::int64_t dim = 64;              // readout width
  std::int64_t heads = 8;
  std::int64_t key_dim = 2;          // content attention dimension per head
  std::int64_t value_factor = 2;     // value dim per head = value_factor * dim / heads
  std::int64_t prior_hidden = 32;    // width of the prior MLP
  double prior_distance_init = 3.0;  // -weight of dx^2, dy^2 in the prior's skip path at init
  std::int64_t classes = 1;
  double out_bias = 0.0;                        // added to both final conv biases at init
  std::vector<std::int64_t> upsample = {2, 2};  // CNN upsampler stages
  QueryMode queries = QueryMode::kZeroMap;

  std::int64_t head_dim() const { return dim / heads; }
  std::int64_t value_dim() const { return value_factor * head_dim(); }  // per head
  std::int64_t upsample_factor() const;
  // Width of the CNN upsampler: max(dim / 4, classes / 2), as the official UpsampleCNN.
  std::int64_t cnn_width() const;
  // Throws UsageError naming the field when a value is out of range or inconsistent.
  void validate() const;
};

// The configuration as JSON (checkpoints, run folders) and back; from_json throws
// nlohmann::json::exception for a missing field and UsageError for an invalid value.
nlohmann::json readout_config_to_json(const ReadoutConfig& config);
ReadoutConfig readout_config_from_json(const nlohmann::json& json);

}  // namespace lidere::readout
